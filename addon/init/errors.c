/* Failure reporting: one MSG_ERROR frame with errno and a one-line message. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "init.h"

static const char *const names[] = {
    [OP_RUNTIME_HOOKS] = "runtime hooks", [OP_HOOK] = "hook", [OP_OPEN_STATUS_FIFO] = "open status fifo",
    [OP_MOUNT_SETATTR] = "mount_setattr", [OP_MOUNT_IDMAP] = "idmap mount", [OP_MOUNT_TREE_FD] = "idmap mount (tree fd)",
    [OP_TIMENS] = "time namespace", [OP_PERSONALITY] = "personality", [OP_SCHEDULER] = "scheduler",
    [OP_IOPRIO] = "io priority", [OP_MEMPOLICY] = "memory policy", [OP_CPU_AFFINITY] = "cpu affinity",
    [OP_LSM_EXEC_LABEL] = "exec label",
    [OP_SETNS] = "setns", [OP_UNSHARE] = "unshare", [OP_SETNS_PIDFD] = "setns (pidfd)", [OP_FORK] = "fork", [OP_JOIN_CGROUP] = "join cgroup", [OP_ROOT_PROPAGATION] = "root propagation", [OP_BIND_ROOTFS] = "bind rootfs",
    [OP_MOUNT] = "mount", [OP_MKNOD] = "mknod", [OP_SYMLINK] = "symlink", [OP_PIVOT_ROOT] = "pivot_root",
    [OP_MOVE_ROOT] = "move root", [OP_MASK_PATH] = "mask path", [OP_READONLY_PATH] = "readonly path",
    [OP_ROOT_READONLY] = "readonly root", [OP_HOSTNAME] = "hostname", [OP_DOMAINNAME] = "domainname",
    [OP_SYSCTL] = "sysctl", [OP_RLIMIT] = "rlimit", [OP_OOM_SCORE_ADJ] = "oom_score_adj",
    [OP_OPEN_FIFO] = "open exec fifo", [OP_IDENTITY] = "identity", [OP_CHDIR] = "chdir", [OP_READY] = "ready",
    [OP_EXEC] = "exec", [OP_SECCOMP] = "seccomp", [OP_SECCOMP_LISTENER] = "seccomp listener", [OP_CONSOLE_CONNECT] = "console connect",
    [OP_CONSOLE_SETUP] = "console setup", [OP_CHROOT] = "chroot", [OP_LOOKPATH] = "lookpath", [OP_HOME] = "home",
};

const char *op_name(uint32_t code) {
  if (code < sizeof names / sizeof names[0] && names[code]) return names[code];
  return "unknown op";
}

/* Sends "<line>" with errno err over the sync socket (or prints it once the
 * socket is closed) and exits(1). */
enum { LINE = 1024 };

static _Noreturn void report(int err, char *line, int n) {
  if (n < 0) n = 0;
  if (n >= LINE) n = LINE - 1;
  /* One line: the message ends up as a single log/stderr line. */
  for (int i = 0; i < n; i++)
    if (line[i] == '\n' || line[i] == '\r') line[i] = ' ';

  if (ctx.sync_fd >= 0) {
    char payload[4 + LINE];
    int32_t e = err;
    memcpy(payload, &e, 4);
    memcpy(payload + 4, line, (size_t)n);
    send_msg(MSG_ERROR, payload, 4 + (uint32_t)n);
  } else {
    /* After OP_READY the parent is gone; stderr is all that is left. */
    dprintf(2, "tsrun-init: %.*s\n", n, line);
    report_status(line, (size_t)n); /* tells a waiting `start` why (hooks.c) */
  }
  _exit(1);
}

_Noreturn void die(int err, const char *fmt, ...) {
  char context[768], line[LINE];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(context, sizeof context, fmt, ap);
  va_end(ap);
  report(err, line, snprintf(line, sizeof line, "%s: %s", context, strerror(err)));
}

_Noreturn void die_text(int err, const char *fmt, ...) {
  char line[LINE];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(line, sizeof line, fmt, ap);
  va_end(ap);
  report(err, line, n);
}
