/* Switching to the rootfs and the post-pivot protections: OP_PIVOT_ROOT,
 * OP_MOVE_ROOT, OP_CHROOT, OP_MASK_PATH, OP_READONLY_PATH, OP_ROOT_READONLY. */
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "init.h"

static bool is_null_device(int fd) {
  struct stat st;
  return fstat(fd, &st) == 0 && S_ISCHR(st.st_mode) && st.st_rdev == makedev(1, 3);
}

/* Masking a file binds a /dev/null we verified ourselves, never a path the
 * container controls (CVE-2025-31133). Chosen before pivot:
 * 1. the container's /dev/null, opened without following any symlink and
 *    verified as char 1:3 (a mount in the new root, so still bindable after
 *    the old root is detached);
 * 2. otherwise the host's /dev/null, verified the same way and cloned with
 *    open_tree(OPEN_TREE_CLONE): a plain fd into the old root could not be
 *    bound once that root is detached (EINVAL). The clone is attached to the
 *    first masked file, which then serves as the source for the others. */
void open_devnull(void) {
  if (ctx.devnull_fd >= 0 || ctx.devnull_tree >= 0) return;
  int fd = resolve("/dev/null", RESOLVE_NO_SYMLINKS);
  if (fd >= 0 && is_null_device(fd)) {
    ctx.devnull_fd = fd;
    return;
  }
  if (fd >= 0) close(fd);
  fd = open("/dev/null", O_PATH | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return;
  if (is_null_device(fd)) ctx.devnull_tree = open_tree(fd, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH);
  close(fd);
}

/* Puts /dev/null over the file behind target_fd (path is for messages). */
static void mask_file(int target_fd, const char *path) {
  char target[64], src[64];
  fd_path(target_fd, target, sizeof target);
  if (ctx.devnull_fd >= 0) {
    fd_path(ctx.devnull_fd, src, sizeof src);
    if (mount(src, target, NULL, MS_BIND, NULL) < 0) die(errno, "mask path %s: bind /dev/null", path);
    return;
  }
  if (ctx.devnull_tree < 0) die(ENODEV, "mask path %s: no verified /dev/null was found before pivot", path);
  if (move_mount(ctx.devnull_tree, "", target_fd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
    die(errno, "mask path %s: attach /dev/null", path);
  close(ctx.devnull_tree);
  ctx.devnull_tree = -1;
  int fd = resolve(path, RESOLVE_NO_SYMLINKS);
  if (fd < 0 || !is_null_device(fd)) die(fd < 0 ? errno : EXDEV, "mask path %s: reopen masked file", path);
  ctx.devnull_fd = fd;
}

static void enter_rootfs(const char *what) {
  if (ctx.root_fd < 0) die(EINVAL, "%s: no rootfs bound (plan order)", what);
  open_devnull();
  if (fchdir(ctx.root_fd) < 0) die(errno, "%s: chdir %s", what, ctx.rootfs);
}

/* No mount namespace: the caller's mount table stays as it is; only the root changes. */
void op_chroot(const struct op *o) {
  need_fields(o, 1);
  const char *root = fstr(o, 0);
  if (chroot(root) < 0) die(errno, "chroot %s", root);
  if (chdir("/") < 0) die(errno, "chroot %s: chdir /", root);
}

void op_pivot_root(const struct op *o) {
  (void)o;
  enter_rootfs("pivot_root");
  /* pivot_root(".", ".") stacks the old root on top of the new one, so no
   * put_old directory is needed; it is then detached. */
  if (syscall(SYS_pivot_root, ".", ".") < 0) die(errno, "pivot_root %s", ctx.rootfs);
  /* Make sure the unmount cannot propagate back to the host. */
  if (mount(NULL, ".", NULL, MS_SLAVE | MS_REC, NULL) < 0) die(errno, "pivot_root: make old root rslave");
  if (umount2(".", MNT_DETACH) < 0) die(errno, "pivot_root: detach old root");
  if (chdir("/") < 0) die(errno, "pivot_root: chdir /");
  ctx.pivoted = true;
}

void op_move_root(const struct op *o) {
  (void)o;
  enter_rootfs("move root");
  if (mount(".", "/", NULL, MS_MOVE, NULL) < 0) die(errno, "move root: move %s to /", ctx.rootfs);
  if (chroot(".") < 0) die(errno, "move root: chroot");
  if (chdir("/") < 0) die(errno, "move root: chdir /");
  ctx.pivoted = true;
}

/* Opens a post-pivot path; -1 if it does not exist (those are skipped). */
static int open_existing(const char *path, const char *what) {
  if (!ctx.pivoted) die(EINVAL, "%s %s: must come after pivot_root (plan order)", what, path);
  int fd = resolve(path, 0);
  if (fd < 0 && errno != ENOENT) die(errno, "%s %s", what, path);
  return fd;
}

void op_mask_path(const struct op *o) {
  const char *path = fstr(o, 0);
  int fd = open_existing(path, "mask path");
  if (fd < 0) return;
  struct stat st;
  if (fstat(fd, &st) < 0) die(errno, "mask path %s: fstat", path);
  if (S_ISDIR(st.st_mode)) {
    char target[64];
    fd_path(fd, target, sizeof target);
    if (mount("tmpfs", target, "tmpfs", MS_RDONLY, NULL) < 0) die(errno, "mask path %s: mount read-only tmpfs", path);
  } else {
    mask_file(fd, path);
  }
  close(fd);
}

void op_readonly_path(const struct op *o) {
  const char *path = fstr(o, 0);
  int fd = open_existing(path, "readonly path");
  if (fd < 0) return;
  char target[64];
  fd_path(fd, target, sizeof target);
  if (mount(target, target, NULL, MS_BIND | MS_REC, NULL) < 0) die(errno, "readonly path %s: bind onto itself", path);
  close(fd);
  /* The old fd points below the new mount; reopen to reach the bind. */
  fd = resolve(path, 0);
  if (fd < 0) die(errno, "readonly path %s: reopen", path);
  remount_keep_locked(fd, path, MS_RDONLY | mount_flags_of(fd));
  close(fd);
}

/* Without a field: /. With one: the mount at that path (a read-only tmpfs or
 * /dev, mounted writable so that mount points, devices and /dev/console could
 * still be made in it), remounted read-only keeping its other flags. */
void op_root_readonly(const struct op *o) {
  if (!ctx.pivoted) die(EINVAL, "readonly root: must come after pivot_root (plan order)");
  if (o->nfields > 0 && strcmp(fstr(o, 0), "/") != 0) {
    const char *path = fstr(o, 0);
    int fd = resolve(path, 0);
    if (fd < 0) die(errno, "remount %s read-only: resolve", path);
    remount_keep_locked(fd, path, MS_RDONLY | mount_flags_of(fd));
    close(fd);
    return;
  }
  struct statvfs sv;
  if (statvfs("/", &sv) < 0) die(errno, "readonly root: statvfs /");
  unsigned long keep = sv.f_flag & (MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_NOATIME | MS_NODIRATIME | MS_RELATIME);
  if (mount(NULL, "/", NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | keep, NULL) < 0) die(errno, "remount / read-only");
}
