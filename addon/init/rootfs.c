/* Switching to the rootfs and the post-pivot protections: OP_PIVOT_ROOT,
 * OP_MOVE_ROOT, OP_CHROOT, OP_MASK_PATH, OP_READONLY_PATH, OP_ROOT_READONLY. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/openat2.h>
#include <sys/mount.h>
#include <sys/stat.h>
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

/* Attaches a detached mount (an open_tree clone or an fsmount) onto the
 * file or directory behind target_fd; both ends stay fds, never paths
 * resolved through the container's own /proc. */
static void attach(int tree, int target_fd, const char *what, const char *path) {
  if (move_mount(tree, "", target_fd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
    die(errno, "%s %s: attach the mount", what, path);
  close(tree);
}

/* Puts /dev/null over the file behind target_fd (path is for messages). */
static void mask_file(int target_fd, const char *path) {
  if (ctx.devnull_fd >= 0) {
    int tree = open_tree(ctx.devnull_fd, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH);
    if (tree < 0) die(errno, "mask path %s: clone /dev/null", path);
    attach(tree, target_fd, "mask path", path);
    return;
  }
  if (ctx.devnull_tree < 0) die(ENODEV, "mask path %s: no verified /dev/null was found before pivot", path);
  attach(ctx.devnull_tree, target_fd, "mask path", path);
  ctx.devnull_tree = -1;
  int fd = resolve(path, RESOLVE_NO_SYMLINKS);
  if (fd < 0 || !is_null_device(fd)) die(fd < 0 ? errno : EXDEV, "mask path %s: reopen masked file", path);
  ctx.devnull_fd = fd;
}

/* Masks a directory with a new, empty, read-only tmpfs. */
static void mask_dir(int target_fd, const char *path) {
  int fs = fsopen("tmpfs", FSOPEN_CLOEXEC);
  if (fs < 0) die(errno, "mask path %s: fsopen tmpfs", path);
  if (fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0) die(errno, "mask path %s: create tmpfs", path);
  int tree = fsmount(fs, FSMOUNT_CLOEXEC, MOUNT_ATTR_RDONLY);
  if (tree < 0) die(errno, "mask path %s: fsmount read-only tmpfs", path);
  close(fs);
  attach(tree, target_fd, "mask path", path);
}

/* --no-pivot: the host's full procfs and sysfs mounts stay in the mount
 * namespace under the chroot, where the kernel counts them when it decides
 * whether a new procfs or sysfs mount would reveal too much; like runc, detach
 * them (or cover them with a tmpfs where detaching is refused). */
static void detach_host_kernel_fs(void) {
  char real[PATH_MAX];
  if (!realpath(ctx.rootfs, real)) die(errno, "move root: realpath %s", ctx.rootfs);
  size_t rl = strlen(real);
  FILE *f = fopen("/proc/self/mountinfo", "re");
  if (!f) die(errno, "move root: open /proc/self/mountinfo");
  char *line = NULL, **points = NULL;
  size_t cap = 0, n = 0;
  while (getline(&line, &cap, f) > 0) {
    /* id parent dev root mountpoint options [optional...] - fstype source super */
    char *save = NULL, *root = NULL, *mnt = NULL, *fstype = NULL;
    int i = 0;
    bool dash = false;
    for (char *t = strtok_r(line, " \n", &save); t; t = strtok_r(NULL, " \n", &save), i++) {
      if (i == 3) root = t;
      else if (i == 4) mnt = t;
      else if (dash) {
        fstype = t;
        break;
      } else if (i >= 6 && !strcmp(t, "-")) dash = true;
    }
    if (!root || !mnt || !fstype || strcmp(root, "/") || (strcmp(fstype, "proc") && strcmp(fstype, "sysfs"))) continue;
    unescape_mountinfo(mnt);
    if (!strncmp(mnt, real, rl) && (mnt[rl] == 0 || mnt[rl] == '/')) continue; /* the container's own */
    char **grown = realloc(points, (n + 1) * sizeof *points);
    if (!grown || !(grown[n] = strdup(mnt))) die(ENOMEM, "move root: mount list");
    points = grown;
    n++;
  }
  free(line);
  fclose(f);
  for (size_t i = 0; i < n; i++) {
    /* Never let the unmount propagate to the host. */
    if (mount(NULL, points[i], NULL, MS_SLAVE | MS_REC, NULL) < 0) {
      if (errno == ENOENT) continue; /* under one already detached */
      die(errno, "move root: make %s rslave", points[i]);
    }
    if (umount2(points[i], MNT_DETACH) < 0) {
      if (errno != EINVAL && errno != EPERM) die(errno, "move root: detach %s", points[i]);
      if (mount("tmpfs", points[i], "tmpfs", 0, NULL) < 0) die(errno, "move root: cover %s", points[i]);
    }
    free(points[i]);
  }
  free(points);
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
  const char *mode = o->nfields > 0 ? fstr(o, 0) : "";
  if (!strcmp(mode, "detach")) {
    if (!ctx.pivoted) die(EINVAL, "pivot_root: detach before the pivot (plan order)");
    if (chdir("/") < 0) die(errno, "pivot_root: chdir /");
  } else {
    enter_rootfs("pivot_root");
    /* pivot_root(".", ".") stacks the old root on top of the new one, so no
     * put_old directory is needed; it is then detached. */
    if (syscall(SYS_pivot_root, ".", ".") < 0) die(errno, "pivot_root %s", ctx.rootfs);
    if (!strcmp(mode, "stack")) {
      /* cwd and root: the new root, under the stacked old one. */
      if (chdir("/") < 0) die(errno, "pivot_root: chdir /");
      ctx.pivoted = true;
      return;
    }
  }
  /* Make sure the unmount cannot propagate back to the host. */
  if (mount(NULL, ".", NULL, MS_SLAVE | MS_REC, NULL) < 0) die(errno, "pivot_root: make old root rslave");
  if (umount2(".", MNT_DETACH) < 0) die(errno, "pivot_root: detach old root");
  if (chdir("/") < 0) die(errno, "pivot_root: chdir /");
  ctx.pivoted = true;
  /* Late pid: the child opens it, in the pid namespace (namespaces.c op_fork). */
  if (!ctx.fork_pending) open_private_proc();
}

void op_move_root(const struct op *o) {
  (void)o;
  enter_rootfs("move root");
  detach_host_kernel_fs();
  if (mount(".", "/", NULL, MS_MOVE, NULL) < 0) die(errno, "move root: move %s to /", ctx.rootfs);
  if (chroot(".") < 0) die(errno, "move root: chroot");
  if (chdir("/") < 0) die(errno, "move root: chdir /");
  ctx.pivoted = true;
  /* Late pid: the child opens it, in the pid namespace (namespaces.c op_fork). */
  if (!ctx.fork_pending) open_private_proc();
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
  if (S_ISDIR(st.st_mode)) mask_dir(fd, path);
  else mask_file(fd, path);
  close(fd);
}

/* A recursive clone of the tree at path, its top mount made read-only, put
 * back over it (runc: an rbind then a read-only remount of the top). Setting
 * only MOUNT_ATTR_RDONLY keeps every other flag, locked ones included. */
void op_readonly_path(const struct op *o) {
  const char *path = fstr(o, 0);
  int fd = open_existing(path, "readonly path");
  if (fd < 0) return;
  int tree = open_tree(fd, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE | AT_EMPTY_PATH);
  if (tree < 0) die(errno, "readonly path %s: clone", path);
  struct mount_attr a = {.attr_set = MOUNT_ATTR_RDONLY};
  if (mount_setattr(tree, "", AT_EMPTY_PATH, &a, sizeof a) < 0) die(errno, "readonly path %s: make read-only", path);
  attach(tree, fd, "readonly path", path);
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
    /* On the fd: no path string after the pivot. Only the read-only bit is
     * set, so every other flag (locked ones included) is kept. */
    struct mount_attr a = {.attr_set = MOUNT_ATTR_RDONLY};
    if (mount_setattr(fd, "", AT_EMPTY_PATH, &a, sizeof a) < 0) die(errno, "remount %s read-only", path);
    close(fd);
    return;
  }
  int root = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (root < 0) die(errno, "readonly root: open /");
  unsigned long keep = mount_flags_of(root) & ~(unsigned long)MS_RDONLY;
  close(root);
  if (mount(NULL, "/", NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | keep, NULL) < 0) die(errno, "remount / read-only");
}
