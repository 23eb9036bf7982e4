/* tsrun-init entry: read the plan from the fd in argv[1], run it in order. */
#include <errno.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "init.h"

struct init_ctx ctx = {.sync_fd = -1, .root_fd = -1, .devnull_fd = -1, .devnull_tree = -1, .fifo_fd = -1, .console_fd = -1, .proc_fd = -1};

typedef void (*op_fn)(const struct op *);

static const op_fn handlers[] = {
    [OP_RUNTIME_HOOKS] = op_runtime_hooks,
    [OP_HOOK] = op_hook,
    [OP_OPEN_STATUS_FIFO] = op_open_status_fifo,
    [OP_MOUNT_SETATTR] = op_mount_setattr,
    [OP_MOUNT_IDMAP] = op_mount_idmap,
    [OP_MOUNT_TREE_FD] = op_mount_tree_fd,
    [OP_TIMENS] = op_timens,
    [OP_PERSONALITY] = op_personality,
    [OP_SCHEDULER] = op_scheduler,
    [OP_IOPRIO] = op_ioprio,
    [OP_MEMPOLICY] = op_mempolicy,
    [OP_CPU_AFFINITY] = op_cpu_affinity,
    [OP_LSM_EXEC_LABEL] = op_lsm_exec_label,
    [OP_SETNS] = op_setns,
    [OP_UNSHARE] = op_unshare,
    [OP_SETNS_PIDFD] = op_setns_pidfd,
    [OP_FORK] = op_fork,
    [OP_JOIN_CGROUP] = op_join_cgroup,
    [OP_ROOT_PROPAGATION] = op_root_propagation,
    [OP_BIND_ROOTFS] = op_bind_rootfs,
    [OP_MOUNT] = op_mount,
    [OP_MKNOD] = op_mknod,
    [OP_SYMLINK] = op_symlink,
    [OP_PIVOT_ROOT] = op_pivot_root,
    [OP_MOVE_ROOT] = op_move_root,
    [OP_MASK_PATH] = op_mask_path,
    [OP_READONLY_PATH] = op_readonly_path,
    [OP_ROOT_READONLY] = op_root_readonly,
    [OP_HOSTNAME] = op_hostname,
    [OP_DOMAINNAME] = op_domainname,
    [OP_SYSCTL] = op_sysctl,
    [OP_RLIMIT] = op_rlimit,
    [OP_OOM_SCORE_ADJ] = op_oom_score_adj,
    [OP_OPEN_FIFO] = op_open_fifo,
    [OP_IDENTITY] = op_identity,
    [OP_CHDIR] = op_chdir,
    [OP_READY] = op_ready,
    [OP_EXEC] = op_exec,
    [OP_SECCOMP] = op_seccomp,
    [OP_SECCOMP_LISTENER] = op_seccomp_listener,
    [OP_CONSOLE_CONNECT] = op_console_connect,
    [OP_CONSOLE_SETUP] = op_console_setup,
    [OP_CHROOT] = op_chroot,
    [OP_LOOKPATH] = op_lookpath,
    [OP_HOME] = op_home,
};

static int parse_fd(const char *s) {
  char *end;
  errno = 0;
  long v = strtol(s, &end, 10);
  if (errno || *end || end == s || v < 3 || v > 1 << 20) return -1;
  return (int)v;
}

static void run_ops(const struct plan *plan) {
  for (uint32_t i = 0; i < plan->nops; i++) {
    const struct op *o = &plan->ops[i];
    ctx.cur = o;
    if (o->code >= sizeof handlers / sizeof handlers[0] || !handlers[o->code])
      die(EINVAL, "plan op #%u: unknown op code %u", i, o->code);
    handlers[o->code](o);
  }
}

int main(int argc, char **argv) {
  /* No ptrace/proc access from the container to this process while it still
   * holds host fds (CVE-2016-9962). */
  if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0) return 1;
  if (argc != 2 || (ctx.sync_fd = parse_fd(argv[1])) < 0) return 1;
  if (prctl(PR_SET_NAME, "tsrun-init", 0, 0, 0) < 0) die(errno, "prctl PR_SET_NAME");

  struct plan plan;
  /* A staged entry (MSG_BOOTSTRAP, ns-order.ts) runs first and ends in
   * OP_FORK: only its child gets here, to read the plan proper. */
  if (read_plan(ctx.sync_fd, &plan, true) == MSG_BOOTSTRAP) {
    /* A bootstrap without OP_FORK (a pid namespace joined by path): this
     * process runs the plan's first part and forks in it (OP_FORK "wait"). */
    for (uint32_t i = 0; i + 1 < plan.nops; i++)
      if (plan.ops[i].code == OP_FORK) die(EINVAL, "bootstrap plan: a fork before its end");
    run_ops(&plan);
    if (plan.nops == 0 || plan.ops[plan.nops - 1].code != OP_FORK) {
      uint32_t self = (uint32_t)getpid();
      send_msg(MSG_CHILD_PID, &self, sizeof self);
    }
    read_plan(ctx.sync_fd, &plan, false);
  }
  for (uint32_t i = 0; i < plan.nops; i++) {
    if (plan.ops[i].code == OP_SYSCTL || plan.ops[i].code == OP_OOM_SCORE_ADJ ||
        plan.ops[i].code == OP_LSM_EXEC_LABEL) ctx.needs_proc = true;
    if (plan.ops[i].code == OP_FORK) ctx.fork_pending = true;
  }
  run_ops(&plan);
  /* A plan must end in OP_EXEC; running off its end is a builder bug. */
  ctx.cur = NULL;
  die(EINVAL, "plan ended without an exec op");
}
