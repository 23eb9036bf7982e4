/* The namespace stages (src/plan/ns-order.ts owns their order):
 * OP_SETNS joins one namespace by path, OP_SETNS_PIDFD joins those of a live
 * process, OP_UNSHARE makes new ones (the user namespace with its maps
 * written by the parent), OP_FORK enters the pid namespace. */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif
#ifndef SYS_pidfd_send_signal
#define SYS_pidfd_send_signal 424
#endif

#include "init.h"

static const struct {
  const char *name;
  int type;
} types[] = {
    /* The fallback of OP_SETNS_PIDFD joins in this order: user first (it
     * owns the others), pid and mnt last. */
    {"user", CLONE_NEWUSER}, {"ipc", CLONE_NEWIPC}, {"uts", CLONE_NEWUTS},   {"net", CLONE_NEWNET},
    {"cgroup", CLONE_NEWCGROUP}, {"time", CLONE_NEWTIME}, {"pid", CLONE_NEWPID}, {"mnt", CLONE_NEWNS},
};
#define NTYPES (sizeof types / sizeof types[0])

static int ns_type(const char *name) {
  for (size_t i = 0; i < NTYPES; i++)
    if (!strcmp(types[i].name, name)) return types[i].type;
  return -1;
}

/* Our host ids are not mapped in a joined user namespace: become its root,
 * as runc does after joining, so that what we create there (an exec's pty)
 * is owned by an id of the namespace and can be given to the user. A
 * namespace without 0 mapped (EINVAL) leaves the ids to OP_IDENTITY. */
static void become_joined_userns_root(void) {
  if (setresgid(0, 0, 0) < 0 && errno != EINVAL) die(errno, "setns user: setresgid 0");
  if (setresuid(0, 0, 0) < 0 && errno != EINVAL) die(errno, "setns user: setresuid 0");
  /* A credential change may reset the dumpable flag (fs.suid_dumpable). */
  if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0) die(errno, "prctl PR_SET_DUMPABLE");
}

/* A namespace opened by OP_SETNS "open" for a later OP_SETNS with an empty path. */
static int kept_fd = -1, kept_type;
static char kept_path[256];

void op_setns(const struct op *o) {
  const char *path = fstr(o, 0), *name = fstr(o, 1);
  int type = ns_type(name);
  if (type < 0) die(EINVAL, "setns %s: unsupported namespace type '%s'", path, name);
  bool open_only = o->nfields > 2 && !strcmp(fstr(o, 2), "open");
  int fd;
  if (!*path) {
    /* The host path was opened while it was reachable (before the joins and the root switch). */
    if (kept_fd < 0 || kept_type != type) die(EINVAL, "setns %s: no namespace opened before (plan order)", name);
    fd = kept_fd;
    kept_fd = -1;
    path = kept_path;
  } else {
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) die(errno, "setns: open %s namespace %s", name, path);
  }
  if (open_only) {
    if (kept_fd >= 0) die(EINVAL, "setns %s: a namespace is already kept open (plan order)", name);
    kept_fd = fd;
    kept_type = type;
    snprintf(kept_path, sizeof kept_path, "%s", path);
    return;
  }
  if (setns(fd, type) < 0) die(errno, "setns %s namespace %s", name, path);
  close(fd);
  if (type == CLONE_NEWUSER) become_joined_userns_root();
}

/* Kernels before 5.8: open every namespace file of the pidfd's process
 * first, then check the pidfd still names a live process (so the files are
 * that process's, not a pid reuser's), then join them in order. */
static void setns_pidfd_fallback(int pidfd, int mask) {
  char path[64], line[128];
  snprintf(path, sizeof path, "/proc/self/fdinfo/%d", pidfd);
  FILE *f = fopen(path, "re");
  if (!f) die(errno, "setns: read %s", path);
  long pid = -1;
  while (fgets(line, sizeof line, f))
    if (sscanf(line, "Pid: %ld", &pid) == 1) break;
  fclose(f);
  if (pid <= 0) die(ESRCH, "setns: the container's process is gone (pidfd %d)", pidfd);
  int fds[NTYPES];
  for (size_t i = 0; i < NTYPES; i++) {
    fds[i] = -1;
    if (!(mask & types[i].type)) continue;
    snprintf(path, sizeof path, "/proc/%ld/ns/%s", pid, types[i].name);
    if ((fds[i] = open(path, O_RDONLY | O_CLOEXEC)) < 0) die(errno, "setns: open %s", path);
  }
  if (syscall(SYS_pidfd_send_signal, pidfd, 0, NULL, 0) < 0) die(errno, "setns: the container's process (pid %ld) is gone", pid);
  for (size_t i = 0; i < NTYPES; i++) {
    if (fds[i] < 0) continue;
    if (setns(fds[i], types[i].type) < 0) die(errno, "setns %s namespace of pid %ld", types[i].name, pid);
    close(fds[i]);
  }
}

void op_setns_pidfd(const struct op *o) {
  int fd = (int)fu64(o, 0), mask = (int)fu64(o, 1);
  if (setns(fd, mask) < 0) {
    if (errno != EINVAL) die(errno, "setns into the namespaces 0x%x of the container's process", mask);
    setns_pidfd_fallback(fd, mask);
  }
  close(fd);
  if (mask & CLONE_NEWUSER) become_joined_userns_root();
}

static void expect_mapped(void) {
  uint32_t hdr[2];
  int r = fd_read_full(ctx.sync_fd, hdr, sizeof hdr);
  if (r == 1) _exit(1); /* the parent gave up; it reports why */
  if (r < 0) die(errno, "user namespace: read sync socket");
  if (hdr[0] != MSG_USERNS_MAPPED || hdr[1] != 1) die(EPROTO, "user namespace: expected the maps, got message %u", hdr[0]);
  char c;
  if (fd_read_full(ctx.sync_fd, &c, 1) != 0) die(EPROTO, "user namespace: truncated message");
  if (c != 'm') return;
  /* Raw syscalls: no other thread exists, and glibc's setxid broadcast is
   * pointless here. */
  if (syscall(SYS_setresgid, 0, 0, 0) < 0) die(errno, "setresgid 0 in user namespace");
  if (syscall(SYS_setresuid, 0, 0, 0) < 0) die(errno, "setresuid 0 in user namespace");
}

static void unshare_user(void) {
  /* /proc/<pid>/{uid,gid}_map of a non-dumpable process belong to the host's
   * root: an unprivileged parent could not write them. Nothing of the
   * container can see this process yet (runc does the same). */
  if (prctl(PR_SET_DUMPABLE, 1, 0, 0, 0) < 0) die(errno, "prctl PR_SET_DUMPABLE");
  if (unshare(CLONE_NEWUSER) < 0) die(errno, "unshare user namespace");
  send_msg(MSG_USERNS_MAPS, NULL, 0);
  expect_mapped();
  /* After the credential change, which resets it. */
  if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0) die(errno, "prctl PR_SET_DUMPABLE");
}

void op_unshare(const struct op *o) {
  need_fields(o, 1);
  if (o->nfields == 1 && !strcmp(fstr(o, 0), "user")) {
    unshare_user();
    return;
  }
  int flags = 0;
  char names[96] = "";
  for (uint32_t i = 0; i < o->nfields; i++) {
    const char *name = fstr(o, i);
    int type = ns_type(name);
    if (type < 0 || type == CLONE_NEWUSER || type == CLONE_NEWTIME)
      die(EINVAL, "unshare: unsupported namespace type '%s'", name);
    flags |= type;
    if (strlen(names) + strlen(name) + 2 < sizeof names) {
      if (*names) strcat(names, ",");
      strcat(names, name);
    }
  }
  if (unshare(flags) < 0) die(errno, "unshare %s namespace", names);
}

_Noreturn static void intermediate_done(pid_t child) {
  uint32_t pid = (uint32_t)child;
  send_msg(MSG_CHILD_PID, &pid, sizeof pid);
  _exit(0);
}

/* The parent has the child's pid (MSG_CHILD_GO); EOF: it gave up. */
static void await_go(void) {
  uint32_t hdr[2];
  int r = fd_read_full(ctx.sync_fd, hdr, sizeof hdr);
  if (r == 1) _exit(1);
  if (r < 0) die(errno, "fork: read sync socket");
  if (hdr[0] != MSG_CHILD_GO || hdr[1] != 0) die(EPROTO, "fork: expected the parent's go, got message %u", hdr[0]);
}

void op_fork(const struct op *o) {
  bool wait = o->nfields > 0 && !strcmp(fstr(o, 0), "wait");
  /* CLONE_PARENT: the child is our parent's child (the caller of tsrun, or
   * tsrun itself), as runc's nsexec makes it; its exit signal is our own. */
  long pid = syscall(SYS_clone, CLONE_PARENT, 0, 0, 0, 0);
  if (pid < 0) die(errno, "clone into the container's pid namespace");
  if (pid > 0) intermediate_done((pid_t)pid);
  if (!wait) return;
  /* In the plan, after the root switch: a procfs the intermediate opened
   * shows the host's pid namespace; never carry it into the container's.
   * The child opens its own, after mounting /proc (mounts.c). */
  ctx.fork_pending = false;
  if (ctx.proc_fd >= 0) close(ctx.proc_fd);
  ctx.proc_fd = -1;
  /* Until the parent has opened our pid, we must not be able to die and be
   * reaped (a reused pid would then be the one it signals). */
  await_go();
}
