/* OP_ROOT_PROPAGATION, OP_BIND_ROOTFS, OP_MOUNT. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "init.h"

#define PROPAGATION (MS_SHARED | MS_SLAVE | MS_PRIVATE | MS_UNBINDABLE)
/* Per-mount flags a bind remount can change (ST_* values equal MS_* ones). */
#define MNT_FLAGS (MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_NOATIME | MS_NODIRATIME | MS_RELATIME | MS_STRICTATIME)
/* Flags the kernel locks on mounts inherited from a more privileged user ns. */
#define LOCKED_FLAGS (MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_NOATIME | MS_NODIRATIME | MS_RELATIME)

void op_root_propagation(const struct op *o) {
  unsigned long flags = fu64(o, 0);
  if (mount(NULL, "/", NULL, flags, NULL) < 0) die(errno, "set propagation 0x%lx of /", flags);
}

unsigned long mount_flags_of(int fd) {
  struct statvfs sv;
  if (fstatvfs(fd, &sv) < 0) die(errno, "%s: statvfs", op_name(ctx.cur->code));
  return sv.f_flag & LOCKED_FLAGS;
}

void remount_keep_locked(int fd, const char *what, unsigned long flags) {
  char target[64];
  fd_path(fd, target, sizeof target);
  unsigned long base = MS_REMOUNT | MS_BIND;
  if (mount(NULL, target, NULL, base | flags, NULL) == 0) return;
  /* In a user namespace, flags locked by the parent ns must be kept. */
  int err = errno;
  if (err == EPERM && mount(NULL, target, NULL, base | flags | mount_flags_of(fd), NULL) == 0) return;
  die(err, "remount %s with flags 0x%lx", what, flags);
}

/* Unescapes mountinfo's octal escapes (\040 for space) in place. */
static void unescape(char *s) {
  char *w = s;
  for (char *r = s; *r; r++) {
    if (r[0] == '\\' && r[1] >= '0' && r[1] <= '7' && r[2] && r[3]) {
      *w++ = (char)((r[1] - '0') * 64 + (r[2] - '0') * 8 + (r[3] - '0'));
      r += 3;
    } else {
      *w++ = *r;
    }
  }
  *w = 0;
}

static bool is_under(const char *path, const char *mnt) {
  size_t n = strlen(mnt);
  if (!strcmp(mnt, "/")) return true;
  return !strncmp(path, mnt, n) && (path[n] == 0 || path[n] == '/');
}

/* pivot_root fails if the rootfs' parent mount is shared (e.g. with
 * rootPropagation "rshared"); like runc, make that mount private. */
static void make_parent_private(const char *rootfs) {
  char real[PATH_MAX], parent[PATH_MAX];
  if (!realpath(rootfs, real)) die(errno, "bind rootfs: realpath %s", rootfs);
  snprintf(parent, sizeof parent, "%s", real);
  char *slash = strrchr(parent, '/');
  if (slash) slash == parent ? (void)(parent[1] = 0) : (void)(*slash = 0);

  FILE *f = fopen("/proc/self/mountinfo", "re");
  if (!f) die(errno, "bind rootfs: open /proc/self/mountinfo");
  char *line = NULL, best[PATH_MAX] = "";
  size_t cap = 0, best_len = 0;
  bool best_shared = false;
  while (getline(&line, &cap, f) > 0) {
    char *save = NULL, *mnt = NULL;
    bool shared = false;
    int i = 0;
    for (char *t = strtok_r(line, " \n", &save); t; t = strtok_r(NULL, " \n", &save), i++) {
      if (i == 4) mnt = t;
      if (i >= 6 && !strcmp(t, "-")) break;
      if (i >= 6 && !strncmp(t, "shared:", 7)) shared = true;
    }
    if (!mnt) continue;
    unescape(mnt);
    /* Later lines stack over earlier ones at the same mount point. */
    if (is_under(parent, mnt) && strlen(mnt) >= best_len) {
      best_len = strlen(mnt);
      snprintf(best, sizeof best, "%s", mnt);
      best_shared = shared;
    }
  }
  free(line);
  fclose(f);
  if (best_shared && mount(NULL, best, NULL, MS_PRIVATE, NULL) < 0)
    die(errno, "bind rootfs: make parent mount %s private", best);
}

void op_bind_rootfs(const struct op *o) {
  const char *rootfs = fstr(o, 0);
  ctx.rootfs = strdup(rootfs);
  if (!ctx.rootfs) die(ENOMEM, "bind rootfs");
  if (mount(rootfs, rootfs, NULL, MS_BIND | MS_REC, NULL) < 0) die(errno, "bind rootfs %s onto itself", rootfs);
  make_parent_private(rootfs);
  /* Opened after the bind, so it is the root of the new mount. */
  ctx.root_fd = open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (ctx.root_fd < 0) die(errno, "bind rootfs: open %s", rootfs);
}

static int reopen(const char *dest) {
  int fd = resolve(dest, 0);
  if (fd < 0) die(errno, "mount: reopen %s after mounting", dest);
  return fd;
}

void op_mount(const struct op *o) {
  need_fields(o, 7);
  const char *source = fstr(o, 0), *dest = fstr(o, 1), *fstype = fstr(o, 2), *data = fstr(o, 4);
  const char *kind = fstr(o, 6);
  unsigned long flags = fu64(o, 3) & ~(unsigned long)PROPAGATION, prop = fu64(o, 5);
  if (strcmp(kind, "dir") && strcmp(kind, "file")) die(EINVAL, "mount %s: kind '%s' is not dir or file", dest, kind);

  int dfd = ensure_dest(dest, !strcmp(kind, "file"));
  char target[64];
  fd_path(dfd, target, sizeof target);
  if (flags & MS_BIND) {
    /* Bind from an fd too, so the source is the one we checked. */
    int sfd = open(source, O_PATH | O_CLOEXEC);
    if (sfd < 0) die(errno, "mount %s to %s: open bind source %s", source, dest, source);
    char src[64];
    fd_path(sfd, src, sizeof src);
    if (mount(src, target, NULL, MS_BIND | (flags & MS_REC), NULL) < 0) die(errno, "bind mount %s to %s", source, dest);
    close(sfd);
    /* A bind ignores per-mount flags; apply them with a remount. */
    unsigned long extra = flags & MNT_FLAGS;
    if (extra) {
      int nfd = reopen(dest);
      remount_keep_locked(nfd, dest, extra);
      close(nfd);
    }
  } else if (o->nfields > 7 && !strcmp(fstr(o, 7), "copyup")) {
    /* The directory being covered stays reachable through an fd opened first. */
    int under = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (under < 0) die(errno, "tmpcopyup %s: open the directory it covers", dest);
    if (mount(source, target, fstype, flags & ~(unsigned long)MS_RDONLY, *data ? data : NULL) < 0)
      die(errno, "mount %s (%s) on %s", source, fstype, dest);
    int top = reopen(dest);
    int topdir = openat(top, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (topdir < 0) die(errno, "tmpcopyup %s: open the new mount", dest);
    struct stat st;
    if (fstat(under, &st) < 0 || fchown(topdir, st.st_uid, st.st_gid) < 0 || fchmod(topdir, st.st_mode & 07777) < 0)
      die(errno, "tmpcopyup %s: owner and mode of the mount", dest);
    copy_tree(under, topdir, dest);
    close(under);
    close(topdir);
    if (flags & MS_RDONLY) remount_keep_locked(top, dest, flags & MNT_FLAGS);
    close(top);
  } else {
    if (mount(source, target, fstype, flags, *data ? data : NULL) < 0)
      die(errno, "mount %s (%s) on %s", source, fstype, dest);
  }
  close(dfd);
  if (prop) {
    int nfd = reopen(dest);
    fd_path(nfd, target, sizeof target);
    if (mount(NULL, target, NULL, prop, NULL) < 0) die(errno, "set propagation 0x%lx of %s", prop, dest);
    close(nfd);
  }
}
