/* Process attributes and the end of the plan: OP_HOSTNAME, OP_DOMAINNAME,
 * OP_SYSCTL, OP_RLIMIT, OP_OOM_SCORE_ADJ, OP_OPEN_FIFO, OP_CHDIR, OP_READY,
 * OP_EXEC (of what OP_LOOKPATH found, lookpath.c). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/close_range.h>
#include <linux/magic.h>
#include <linux/openat2.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "init.h"

void op_hostname(const struct op *o) {
  const char *name = fstr(o, 0);
  if (sethostname(name, strlen(name)) < 0) die(errno, "sethostname %s", name);
}

void op_domainname(const struct op *o) {
  const char *name = fstr(o, 0);
  if (setdomainname(name, strlen(name)) < 0) die(errno, "setdomainname %s", name);
}

/* The plan's procfs writes (sysctls, oom_score_adj) go through a procfs of
 * the init's own, made with fsopen("proc") right after the pivot (while the
 * container's /proc is still fully visible, which the kernel wants for a new
 * procfs in a user namespace), as runc >= 1.2.8 does: the container's /proc
 * may be anything its config or rootfs made it (CVE-2019-19921,
 * CVE-2025-52881). Where fsopen is refused, a non-recursive clone of /proc
 * verified to be a procfs root. Files below it are opened with no symlink,
 * no mount crossing, never above it. */
static void open_proc(void) {
  int fd = -1, fs = fsopen("proc", FSOPEN_CLOEXEC);
  if (fs >= 0) {
    if (fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) == 0)
      fd = fsmount(fs, FSMOUNT_CLOEXEC, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC);
    close(fs);
  }
  if (fd < 0) fd = open_tree(AT_FDCWD, "/proc", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
  /* exec in a user namespace: /proc is masked (no new procfs) and has locked
   * submounts (no clone); the mount itself, verified below, is what is left. */
  if (fd < 0) fd = open("/proc", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) die(errno, "open a private procfs (fsopen proc, open_tree /proc, /proc)");
  struct statfs sfs;
  struct stat st;
  if (fstatfs(fd, &sfs) < 0 || fstat(fd, &st) < 0) die(errno, "private procfs: stat");
  if (sfs.f_type != PROC_SUPER_MAGIC || st.st_ino != 1) die(EXDEV, "private procfs: not the root of a procfs");
  ctx.proc_fd = fd;
}

void open_private_proc(void) {
  if (ctx.needs_proc && ctx.proc_fd < 0) open_proc();
}

bool proc_file_exists(const char *rel) {
  if (ctx.proc_fd < 0) open_proc();
  struct open_how how = {.flags = O_PATH | O_CLOEXEC, .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_XDEV};
  long fd = syscall(SYS_openat2, ctx.proc_fd, rel, &how, sizeof how);
  if (fd >= 0) close((int)fd);
  return fd >= 0;
}

void write_proc_file(const char *rel, const char *value) {
  if (ctx.proc_fd < 0) open_proc(); /* exec: no pivot, opened on first use */
  struct open_how how = {.flags = O_WRONLY | O_CLOEXEC, .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_XDEV};
  long fd = syscall(SYS_openat2, ctx.proc_fd, rel, &how, sizeof how);
  if (fd < 0) die(errno, "open /proc/%s", rel);
  struct statfs sfs;
  if (fstatfs((int)fd, &sfs) < 0) die(errno, "statfs /proc/%s", rel);
  if (sfs.f_type != PROC_SUPER_MAGIC) die(EXDEV, "/proc/%s is not on procfs", rel);
  if (fd_write_full((int)fd, value, strlen(value)) < 0) die(errno, "write '%s' to /proc/%s", value, rel);
  close((int)fd);
}

void op_sysctl(const struct op *o) {
  const char *key = fstr(o, 0), *value = fstr(o, 1);
  /* The key names a file below /proc/sys; it must not climb out of it. */
  if (key[0] == '/' || !strcmp(key, "..") || !strncmp(key, "../", 3) || strstr(key, "/../") ||
      (strlen(key) >= 3 && !strcmp(key + strlen(key) - 3, "/..")))
    die(EINVAL, "sysctl %s: invalid key", key);
  char path[PATH_MAX];
  snprintf(path, sizeof path, "sys/%s", key);
  write_proc_file(path, value);
}

void op_rlimit(const struct op *o) {
  int resource = (int)fu64(o, 0);
  struct rlimit rl = {.rlim_cur = fu64(o, 1), .rlim_max = fu64(o, 2)};
  if (prlimit(0, resource, &rl, NULL) < 0)
    die(errno, "setrlimit %d soft %llu hard %llu", resource, (unsigned long long)rl.rlim_cur, (unsigned long long)rl.rlim_max);
}

void op_oom_score_adj(const struct op *o) {
  (void)fi64(o, 0); /* validate: a number */
  /* "self" is a symlink: name our pid in the private procfs's (our) pid ns. */
  char rel[32];
  snprintf(rel, sizeof rel, "%d/oom_score_adj", (int)getpid());
  write_proc_file(rel, fstr(o, 0));
}

void op_open_fifo(const struct op *o) {
  const char *path = fstr(o, 0);
  /* O_RDWR: never blocks on open, and our read waits for `start`'s byte. */
  int fd = open(path, O_RDWR | O_CLOEXEC);
  if (fd < 0) die(errno, "open exec fifo %s", path);
  struct stat st;
  if (fstat(fd, &st) < 0) die(errno, "open exec fifo %s: fstat", path);
  if (!S_ISFIFO(st.st_mode)) die(EINVAL, "exec fifo %s is not a fifo", path);
  ctx.fifo_fd = fd;
}

void op_chdir(const struct op *o) {
  const char *path = fstr(o, 0);
  if (chdir(path) < 0) die(errno, "chdir to cwd %s", path);
  /* A cwd outside the root (a leaked fd, CVE-2024-21626) makes getcwd fail
   * with ENOENT or return "(unreachable)...". */
  char buf[PATH_MAX];
  if (!getcwd(buf, sizeof buf)) die(errno, "chdir to cwd %s: getcwd", path);
  if (buf[0] != '/') die(ENOENT, "chdir to cwd %s: cwd is outside the container root", path);
}

void op_ready(const struct op *o) {
  (void)o;
  if (ctx.fifo_fd < 0) die(EBADF, "ready: the exec fifo was not opened (plan order)");
  send_ready();
  await_commit();
  close(ctx.sync_fd);
  ctx.sync_fd = -1;
  /* Block until `start` writes a byte. Signals are blocked; SIGKILL works. */
  char c;
  ssize_t n;
  do n = read(ctx.fifo_fd, &c, 1);
  while (n < 0 && errno == EINTR);
  if (n < 0) die(errno, "read exec fifo");
  if (n == 0) die(EPIPE, "read exec fifo: end of file");
  close(ctx.fifo_fd);
  ctx.fifo_fd = -1;
}

/* The kernel's sigaction layout for rt_sigaction. */
struct kernel_sigaction {
  void (*handler)(int);
  unsigned long flags;
  void (*restorer)(void);
  uint64_t mask;
};

static void reset_signals(void) {
  struct kernel_sigaction dfl = {.handler = SIG_DFL};
  for (int sig = 1; sig <= 64; sig++) {
    if (sig == SIGKILL || sig == SIGSTOP) continue;
    if (syscall(SYS_rt_sigaction, sig, &dfl, NULL, sizeof dfl.mask) < 0) die(errno, "exec: reset signal %d", sig);
  }
}

/* Marks every fd >= low close-on-exec. close_range first; a seccomp profile
 * loaded earlier (without no_new_privs) may refuse it, so fall back to what
 * runc does, which such profiles allow: walk /proc/self/fd and fcntl each. */
static void cloexec_from(unsigned low) {
  if (close_range(low, ~0U, CLOSE_RANGE_CLOEXEC) == 0) return;
  int err = errno;
  if (err != EPERM && err != ENOSYS && err != EINVAL) die(err, "exec: close_range from %u", low);
  DIR *d = opendir("/proc/self/fd");
  if (!d) die(errno, "exec: close_range from %u: %s; open /proc/self/fd", low, strerror(err));
  int self = dirfd(d);
  struct dirent *e;
  while ((e = readdir(d))) {
    char *end;
    long fd = strtol(e->d_name, &end, 10);
    if (*end || end == e->d_name || fd < (long)low || fd == self) continue;
    if (fcntl((int)fd, F_SETFD, FD_CLOEXEC) < 0 && errno != EBADF) die(errno, "exec: cloexec fd %ld", fd);
  }
  closedir(d);
}

_Noreturn void op_exec(const struct op *o) {
  need_fields(o, 3);
  const char *path = fstr(o, 0);
  if (!*path) path = ctx.exec_path; /* resolved by OP_LOOKPATH */
  if (!path) die(EINVAL, "exec: no path and no OP_LOOKPATH before it (plan order)");
  unsigned preserve = (unsigned)fu64(o, 1);
  uint64_t argc = fu64(o, 2);
  if (argc < 1 || argc > o->nfields - 3) die(EINVAL, "exec %s: argc %llu with %u fields", path, (unsigned long long)argc, o->nfields);
  uint32_t envc = o->nfields - 3 - (uint32_t)argc;
  char **argv = calloc(argc + 1, sizeof *argv), **envp = calloc(envc + 2u, sizeof *envp);
  if (!argv || !envp) die(ENOMEM, "exec %s", path);
  for (uint32_t i = 0; i < argc; i++) argv[i] = (char *)fstr(o, 3 + i);
  for (uint32_t i = 0; i < envc; i++) envp[i] = (char *)fstr(o, 3 + (uint32_t)argc + i);
  if (ctx.home) { /* OP_HOME: the env had none (the builder checked) */
    size_t n = strlen(ctx.home) + sizeof "HOME=";
    if (!(envp[envc] = malloc(n))) die(ENOMEM, "exec %s", path);
    snprintf(envp[envc], n, "HOME=%s", ctx.home);
  }

  reset_signals();
  /* Nothing but stdio and the preserved fds may reach the container
   * (CVE-2024-21626); CLOEXEC keeps our own fds usable until execve. */
  cloexec_from(3 + preserve);
  if (ctx.sync_fd >= 0 && fcntl(ctx.sync_fd, F_SETFD, FD_CLOEXEC) < 0) die(errno, "exec: cloexec sync socket");
  uint64_t empty = 0;
  if (syscall(SYS_rt_sigprocmask, SIG_SETMASK, &empty, NULL, sizeof empty) < 0) die(errno, "exec: unblock signals");
  seccomp_before_exec(); /* last: only execve runs under a deferred filter */
  execve(path, argv, envp);
  int err = errno;
  if (ctx.sync_fd >= 0) die(err, "exec %s", path); /* still talking to the parent */
  dprintf(2, "tsrun-init: exec %s: %s\n", path, strerror(err));
  _exit(127);
}
