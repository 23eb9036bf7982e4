/* Path handling inside the rootfs. Every container path is hostile: it is
 * resolved with openat2(RESOLVE_IN_ROOT|RESOLVE_NO_MAGICLINKS) against the
 * rootfs dirfd, created one component at a time relative to already resolved
 * directory fds (CVE-2024-45310), and mounts target /proc/self/fd/N of the
 * resulting O_PATH fd, never the path string (CVE-2021-30465). */
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "init.h"

/* Before the pivot /proc is the host's; after it, the container's, which
 * must not decide where a mount goes: post-pivot code works on fds only. */
void fd_path(int fd, char *buf, size_t len) {
  if (ctx.pivoted) die(EINVAL, "%s: a /proc/self/fd path after pivot_root (use the fd)", op_name(ctx.cur ? ctx.cur->code : 0));
  snprintf(buf, len, "/proc/self/fd/%d", fd);
}

int resolve(const char *dest, int extra_resolve_flags) {
  if (ctx.root_fd < 0) {
    errno = EBADF;
    return -1;
  }
  struct open_how how = {
      .flags = O_PATH | O_CLOEXEC,
      .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS | (uint64_t)extra_resolve_flags,
  };
  for (int tries = 0; tries < 32; tries++) {
    long fd = syscall(SYS_openat2, ctx.root_fd, dest, &how, sizeof how);
    /* EAGAIN: a concurrent rename somewhere in the tree; just retry. */
    if (fd >= 0 || errno != EAGAIN) return (int)fd;
  }
  return -1;
}

static void need_root(const char *dest) {
  if (ctx.root_fd < 0) die(EINVAL, "%s %s: no rootfs bound yet (plan order)", op_name(ctx.cur ? ctx.cur->code : 0), dest);
}

static void require_dir(int fd, const char *path) {
  struct stat st;
  if (fstat(fd, &st) < 0) die(errno, "%s: fstat %s", op_name(ctx.cur->code), path);
  if (!S_ISDIR(st.st_mode)) die(ENOTDIR, "%s: %s", op_name(ctx.cur->code), path);
}

int mkdir_all(const char *dest) {
  need_root(dest);
  size_t n = strlen(dest);
  char *prefix = calloc(n + 2, 1), *copy = strdup(dest);
  if (!prefix || !copy) die(ENOMEM, "mkdir %s", dest);
  int cur = resolve("/", 0);
  if (cur < 0) die(errno, "%s: open rootfs", op_name(ctx.cur->code));
  char *save = NULL;
  for (char *comp = strtok_r(copy, "/", &save); comp; comp = strtok_r(NULL, "/", &save)) {
    if (!strcmp(comp, ".")) continue;
    strcat(strcat(prefix, "/"), comp);
    /* Each prefix is resolved from the root again, so symlinks met on the
     * way stay confined to the rootfs. */
    int next = resolve(prefix, 0);
    if (next < 0 && errno == ENOENT && strcmp(comp, "..")) {
      if (mkdirat(cur, comp, 0755) < 0 && errno != EEXIST)
        die(errno, "%s: mkdir %s in rootfs", op_name(ctx.cur->code), prefix);
      next = resolve(prefix, 0);
    }
    if (next < 0) die(errno, "%s: resolve %s in rootfs", op_name(ctx.cur->code), prefix);
    require_dir(next, prefix);
    close(cur);
    cur = next;
  }
  free(prefix);
  free(copy);
  return cur;
}

int parent_of(const char *dest, char **base) {
  char *copy = strdup(dest);
  if (!copy) die(ENOMEM, "%s", dest);
  size_t n = strlen(copy);
  while (n > 1 && copy[n - 1] == '/') copy[--n] = 0;
  char *slash = strrchr(copy, '/');
  char *name = slash ? slash + 1 : copy;
  if (!*name || !strcmp(name, ".") || !strcmp(name, ".."))
    die(EINVAL, "%s: destination %s has no final name", op_name(ctx.cur->code), dest);
  *base = strdup(name);
  if (!*base) die(ENOMEM, "%s", dest);
  if (slash) *slash = 0;
  int fd = mkdir_all(slash && slash != copy ? copy : "/");
  free(copy);
  return fd;
}

int ensure_dest(const char *dest, bool is_file) {
  need_root(dest);
  int fd = resolve(dest, 0);
  if (fd >= 0 || errno != ENOENT) {
    if (fd < 0) die(errno, "%s: resolve %s in rootfs", op_name(ctx.cur->code), dest);
    return fd;
  }
  char *base;
  int dir = parent_of(dest, &base);
  if (is_file) {
    /* O_NOFOLLOW|O_EXCL: never create through a (dangling) symlink. */
    int f = openat(dir, base, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (f < 0 && errno != EEXIST) die(errno, "%s: create %s in rootfs", op_name(ctx.cur->code), dest);
    if (f >= 0) close(f);
  } else if (mkdirat(dir, base, 0755) < 0 && errno != EEXIST) {
    die(errno, "%s: mkdir %s in rootfs", op_name(ctx.cur->code), dest);
  }
  close(dir);
  free(base);
  fd = resolve(dest, 0);
  if (fd < 0) die(errno, "%s: resolve %s in rootfs", op_name(ctx.cur->code), dest);
  return fd;
}
