/* OP_ROOT_PROPAGATION, OP_BIND_ROOTFS, OP_MOUNT. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/magic.h>
#include <linux/openat2.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "init.h"

#define PROPAGATION (MS_SHARED | MS_SLAVE | MS_PRIVATE | MS_UNBINDABLE)
/* Per-mount flags a bind remount can change. */
#define MNT_FLAGS (MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_NOATIME | MS_NODIRATIME | MS_RELATIME | MS_STRICTATIME)

void op_root_propagation(const struct op *o) {
  unsigned long flags = fu64(o, 0);
  if (mount(NULL, "/", NULL, flags, NULL) < 0) die(errno, "set propagation 0x%lx of /", flags);
}

/* The flags the kernel locks on mounts inherited from a more privileged user
 * ns, as mount(2) flags. statvfs's ST_* values are not all MS_* ones
 * (ST_RELATIME is 4096, which is MS_BIND), so each is mapped; a mount with
 * neither noatime nor relatime is strictatime, which a remount must say, or
 * the kernel's relatime default would change a locked atime mode. */
unsigned long mount_flags_of(int fd) {
  struct statvfs sv;
  if (fstatvfs(fd, &sv) < 0) die(errno, "%s: statvfs", op_name(ctx.cur->code));
  static const struct {
    unsigned long st, ms;
  } map[] = {{ST_RDONLY, MS_RDONLY},     {ST_NOSUID, MS_NOSUID},         {ST_NODEV, MS_NODEV},
             {ST_NOEXEC, MS_NOEXEC},     {ST_NOATIME, MS_NOATIME},       {ST_NODIRATIME, MS_NODIRATIME},
             {ST_RELATIME, MS_RELATIME}};
  unsigned long flags = 0;
  for (size_t i = 0; i < sizeof map / sizeof *map; i++)
    if (sv.f_flag & map[i].st) flags |= map[i].ms;
  if (!(flags & (MS_NOATIME | MS_RELATIME))) flags |= MS_STRICTATIME;
  return flags;
}

void remount_keep_locked(int fd, const char *what, unsigned long flags) {
  char target[64];
  fd_path(fd, target, sizeof target);
  unsigned long base = MS_REMOUNT | MS_BIND;
  if (mount(NULL, target, NULL, base | flags, NULL) == 0) return;
  /* In a user namespace, flags locked by the parent ns must be kept. */
  int err = errno;
  /* The caller's atime choice stands if it made one (a locked mount then
   * refuses it, rightly); otherwise the mount's own atime mode is repeated. */
  const unsigned long atime = MS_NOATIME | MS_NODIRATIME | MS_RELATIME | MS_STRICTATIME;
  unsigned long cur = err == EPERM ? mount_flags_of(fd) : 0;
  unsigned long retry = flags | (cur & ~atime) | (flags & atime ? 0 : cur & atime);
  if (err == EPERM && mount(NULL, target, NULL, base | retry, NULL) == 0) return;
  die(err, "remount %s with flags 0x%lx", what, flags);
}

/* Unescapes mountinfo's octal escapes (\040 for space) in place. */
void unescape_mountinfo(char *s) {
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
    unescape_mountinfo(mnt);
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

/* proc and sysfs go only onto a real directory: the last component is
 * opened without following symlinks, so "/proc -> /tmp" in the rootfs is
 * refused as runc refuses it (CVE-2019-16884 class). */
static int ordinary_dir(const char *dest, const char *fstype) {
  char *base;
  int dir = parent_of(dest, &base);
  struct open_how how = {.flags = O_PATH | O_CLOEXEC, .resolve = RESOLVE_NO_SYMLINKS | RESOLVE_BENEATH};
  long fd = syscall(SYS_openat2, dir, base, &how, sizeof how);
  if (fd < 0 && errno == ENOENT) {
    if (mkdirat(dir, base, 0755) < 0 && errno != EEXIST) die(errno, "mount %s on %s: mkdir", fstype, dest);
    fd = syscall(SYS_openat2, dir, base, &how, sizeof how);
  }
  struct stat st;
  if (fd >= 0 && fstat((int)fd, &st) < 0) die(errno, "mount %s on %s: fstat", fstype, dest);
  if ((fd < 0 && errno == ELOOP) || (fd >= 0 && !S_ISDIR(st.st_mode)))
    die(ENOTDIR, "mount %s on %s: filesystem \"%s\" must be mounted on ordinary directory", fstype, dest, fstype);
  if (fd < 0) die(errno, "mount %s on %s: open", fstype, dest);
  close(dir);
  free(base);
  return (int)fd;
}

/* The files under /proc that may be mounted over (runc's list: what lxcfs
 * emulates); /proc itself only by a new procfs. */
static const char *const proc_mountable[] = {"/proc/cpuinfo", "/proc/diskstats", "/proc/meminfo", "/proc/stat",
                                             "/proc/swaps", "/proc/uptime", "/proc/loadavg", "/proc/slabinfo",
                                             "/proc/net/dev", "/proc/sys/kernel/ns_last_pid", "/proc/sys/crypto/fips_enabled"};

/* A destination that resolved onto procfs or sysfs (CVE-2025-52881 class: a
 * rootfs symlink that turns a mount into a mount over a kernel knob) is
 * refused unless the config names it exactly, with no symlink on the way,
 * and for procfs unless it is one of runc's allowed files. */
static void check_kernel_fs_target(const char *dest, int dfd, const char *fstype, bool bind) {
  struct statfs sfs;
  if (fstatfs(dfd, &sfs) < 0) die(errno, "mount %s: statfs", dest);
  if (sfs.f_type != PROC_SUPER_MAGIC && sfs.f_type != SYSFS_MAGIC) return;
  const char *fs = sfs.f_type == PROC_SUPER_MAGIC ? "procfs" : "sysfs";
  int direct = resolve(dest, RESOLVE_NO_SYMLINKS);
  struct stat a, b;
  bool same = direct >= 0 && fstat(direct, &a) == 0 && fstat(dfd, &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino;
  if (direct >= 0) close(direct);
  if (!same) die(EXDEV, "mount %s: the destination leads through a symlink onto %s", dest, fs);
  if (sfs.f_type == SYSFS_MAGIC) return;
  if (!strcmp(dest, "/proc") && !bind && !strcmp(fstype, "proc")) return;
  for (size_t i = 0; i < sizeof proc_mountable / sizeof *proc_mountable; i++)
    if (!strcmp(dest, proc_mountable[i])) return;
  die(EPERM, "mount %s: \"%s\" cannot be mounted because it is inside /proc", dest, dest);
}

/* The target of mount(2) for the directory behind fd: /proc/self/fd/N before
 * the pivot. After it (procfs mounted by the child of a late pid entry,
 * ns-order.ts) nothing goes through the container's own /proc: the cwd moves
 * to the fd and the target is "."; target_done() moves it back to /. */
static const char *target_of(int fd, char *buf, size_t len) {
  if (!ctx.pivoted) {
    fd_path(fd, buf, len);
    return buf;
  }
  if (fchdir(fd) < 0) die(errno, "%s: chdir to the mount point", op_name(ctx.cur->code));
  return ".";
}

static void target_done(void) {
  if (ctx.pivoted && chdir("/") < 0) die(errno, "%s: chdir /", op_name(ctx.cur->code));
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

  bool bind = (flags & MS_BIND) != 0;
  bool kernel_fs = !bind && (!strcmp(fstype, "proc") || !strcmp(fstype, "sysfs"));
  int dfd = kernel_fs ? ordinary_dir(dest, fstype) : ensure_dest(dest, !strcmp(kind, "file"));
  check_kernel_fs_target(dest, dfd, fstype, bind);
  if (bind && ctx.pivoted) die(EINVAL, "bind mount %s to %s: after pivot_root (plan order)", source, dest);
  char buf[64];
  const char *target = target_of(dfd, buf, sizeof buf);
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
  target_done();
  close(dfd);
  if (prop) {
    int nfd = reopen(dest);
    target = target_of(nfd, buf, sizeof buf);
    if (mount(NULL, target, NULL, prop, NULL) < 0) die(errno, "set propagation 0x%lx of %s", prop, dest);
    target_done();
    close(nfd);
  }
  /* Late pid: the first procfs of the pid namespace, fully visible, which a
   * new procfs in a user namespace needs (process.c open_proc). */
  if (ctx.pivoted && kernel_fs && !strcmp(fstype, "proc")) open_private_proc();
}
