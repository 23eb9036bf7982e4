/* mount_setattr(2) based mount options: OP_MOUNT_SETATTR (the recursive
 * r* options, e.g. rro, rnosuid) and OP_MOUNT_IDMAP (idmap / ridmap bind
 * mounts: a detached clone of the source gets MOUNT_ATTR_IDMAP with a user
 * namespace built from the mount's mappings, then is moved onto dest). */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "init.h"

#ifndef SYS_open_tree
#define SYS_open_tree 428
#endif
#ifndef SYS_move_mount
#define SYS_move_mount 429
#endif
#ifndef SYS_mount_setattr
#define SYS_mount_setattr 442
#endif
#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif

#define T_OPEN_TREE_CLONE 1
#define T_OPEN_TREE_CLOEXEC O_CLOEXEC
#define T_AT_RECURSIVE 0x8000
#define T_MOVE_MOUNT_F_EMPTY_PATH 0x4
#define T_MOVE_MOUNT_T_EMPTY_PATH 0x40
#define T_MOUNT_ATTR_IDMAP 0x00100000

struct t_mount_attr {
  uint64_t attr_set;
  uint64_t attr_clr;
  uint64_t propagation;
  uint64_t userns_fd;
};

static int setattr(int dfd, const char *path, unsigned flags, struct t_mount_attr *a) {
  return (int)syscall(SYS_mount_setattr, dfd, path, flags, a, sizeof *a);
}

/* fields: dest, attr_set, attr_clr, propagation, recursive ("0"/"1"). */
void op_mount_setattr(const struct op *o) {
  need_fields(o, 5);
  const char *dest = fstr(o, 0);
  struct t_mount_attr a = {.attr_set = fu64(o, 1), .attr_clr = fu64(o, 2), .propagation = fu64(o, 3)};
  bool rec = !strcmp(fstr(o, 4), "1");
  int fd = resolve(dest, 0);
  if (fd < 0) die(errno, "mount_setattr %s: resolve", dest);
  if (setattr(fd, "", AT_EMPTY_PATH | (rec ? T_AT_RECURSIVE : 0), &a) < 0)
    die(errno, "mount_setattr %s set 0x%llx clear 0x%llx%s", dest, (unsigned long long)a.attr_set,
        (unsigned long long)a.attr_clr, rec ? " (recursive)" : "");
  close(fd);
}

/* The pid of a pidfd in the namespace of our /proc mount (before pivot_root
 * that is the host's, not the container's pid namespace). */
static pid_t proc_pid_of(int pidfd) {
  char path[64], line[128];
  snprintf(path, sizeof path, "/proc/self/fdinfo/%d", pidfd);
  FILE *f = fopen(path, "re");
  if (!f) return -1;
  pid_t pid = -1;
  while (fgets(line, sizeof line, f))
    if (!strncmp(line, "Pid:", 4)) pid = (pid_t)strtol(line + 4, NULL, 10);
  fclose(f);
  return pid;
}

static void write_map(pid_t pid, const char *file, const char *map) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/%s", (int)pid, file);
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) die(errno, "idmap: open %s", path);
  if (write(fd, map, strlen(map)) < 0) die(errno, "idmap: write '%s' to %s", map, path);
  close(fd);
}

/* A user namespace with the given maps, held by an fd: a child is created in
 * it, the maps written, the ns opened, the child reaped. */
static int make_userns(const char *uid_map, const char *gid_map) {
  int pipefd[2];
  if (pipe2(pipefd, O_CLOEXEC) < 0) die(errno, "idmap: pipe");
  pid_t pid = (pid_t)syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, 0, 0, 0, 0);
  if (pid < 0) die(errno, "idmap: clone a user namespace");
  if (pid == 0) {
    char c;
    close(pipefd[1]);
    (void)!read(pipefd[0], &c, 1); /* until the parent is done */
    _exit(0);
  }
  close(pipefd[0]);
  int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
  pid_t seen = pidfd < 0 ? -1 : proc_pid_of(pidfd);
  int err = errno;
  if (seen <= 0) {
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    die(seen == 0 ? ESRCH : err, "idmap: find the user namespace helper in /proc");
  }
  write_map(seen, "uid_map", uid_map);
  write_map(seen, "gid_map", gid_map);
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/ns/user", (int)seen);
  int ns = open(path, O_RDONLY | O_CLOEXEC);
  if (ns < 0) die(errno, "idmap: open %s", path);
  close(pipefd[1]);
  close(pidfd);
  waitpid(pid, NULL, 0);
  return ns;
}

/* fields: source (host path), dest, kind ("dir"/"file"), tree ("0" = bind,
 * "1" = rbind), idmap_recursive ("0" = idmap, "1" = ridmap), uid_map,
 * gid_map ("containerID hostID size" lines), attr_set, attr_clr. */
void op_mount_idmap(const struct op *o) {
  need_fields(o, 9);
  const char *source = fstr(o, 0), *dest = fstr(o, 1), *kind = fstr(o, 2);
  bool tree = !strcmp(fstr(o, 3), "1"), rec = !strcmp(fstr(o, 4), "1");
  const char *uid_map = fstr(o, 5), *gid_map = fstr(o, 6);
  uint64_t set = fu64(o, 7), clr = fu64(o, 8);

  int ns = make_userns(uid_map, gid_map);
  int mnt = (int)syscall(SYS_open_tree, AT_FDCWD, source, T_OPEN_TREE_CLONE | T_OPEN_TREE_CLOEXEC | (tree ? T_AT_RECURSIVE : 0));
  if (mnt < 0) die(errno, "idmap mount %s: open_tree %s", dest, source);
  struct t_mount_attr a = {.attr_set = T_MOUNT_ATTR_IDMAP, .userns_fd = (uint64_t)ns};
  if (setattr(mnt, "", AT_EMPTY_PATH | (rec ? T_AT_RECURSIVE : 0), &a) < 0)
    die(errno, "idmap mount %s: mount_setattr MOUNT_ATTR_IDMAP (does %s support idmapped mounts?)", dest, source);
  if (set || clr) {
    struct t_mount_attr f = {.attr_set = set, .attr_clr = clr};
    if (setattr(mnt, "", AT_EMPTY_PATH | (tree ? T_AT_RECURSIVE : 0), &f) < 0)
      die(errno, "idmap mount %s: mount_setattr set 0x%llx clear 0x%llx", dest, (unsigned long long)set, (unsigned long long)clr);
  }
  int dfd = ensure_dest(dest, !strcmp(kind, "file"));
  if (syscall(SYS_move_mount, mnt, "", dfd, "", T_MOVE_MOUNT_F_EMPTY_PATH | T_MOVE_MOUNT_T_EMPTY_PATH) < 0)
    die(errno, "idmap mount %s: move_mount onto %s", source, dest);
  close(dfd);
  close(mnt);
  close(ns);
}

/* The next MSG_MOUNT_FD from the parent: an 8-byte header with exactly one
 * fd attached (SCM_RIGHTS). */
static int recv_mount_fd(const char *dest) {
  uint32_t hdr[2];
  union {
    char buf[CMSG_SPACE(sizeof(int))];
    struct cmsghdr align;
  } u;
  struct iovec iov = {.iov_base = hdr, .iov_len = sizeof hdr};
  struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof u.buf};
  ssize_t n;
  do n = recvmsg(ctx.sync_fd, &msg, MSG_CMSG_CLOEXEC | MSG_WAITALL);
  while (n < 0 && errno == EINTR);
  if (n < 0) die(errno, "idmap mount %s: receive the mount fd", dest);
  if (n == 0) _exit(1); /* the parent gave up: exit quietly */
  int fd = -1;
  struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
  if (c && c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS && c->cmsg_len == CMSG_LEN(sizeof(int)))
    memcpy(&fd, CMSG_DATA(c), sizeof fd);
  if ((size_t)n != sizeof hdr || hdr[0] != MSG_MOUNT_FD || hdr[1] != 0 || fd < 0 || (msg.msg_flags & MSG_CTRUNC)) {
    if (fd >= 0) close(fd);
    die(EPROTO, "idmap mount %s: expected a mount fd message, got type %u (%zd bytes, %s)", dest, n >= 4 ? hdr[0] : 0, n,
        fd < 0 ? "no fd" : "fd");
  }
  return fd;
}

/* fields: dest, kind, source, tree, idmap_recursive, userns, uid_map, gid_map
 * (all but the first two were the parent's; here only for messages). */
void op_mount_tree_fd(const struct op *o) {
  need_fields(o, 3);
  const char *dest = fstr(o, 0), *kind = fstr(o, 1), *source = fstr(o, 2);
  int mnt = recv_mount_fd(dest);
  int dfd = ensure_dest(dest, !strcmp(kind, "file"));
  if (syscall(SYS_move_mount, mnt, "", dfd, "", T_MOVE_MOUNT_F_EMPTY_PATH | T_MOVE_MOUNT_T_EMPTY_PATH) < 0)
    die(errno, "idmap mount %s: move_mount onto %s", source, dest);
  close(dfd);
  close(mnt);
}
