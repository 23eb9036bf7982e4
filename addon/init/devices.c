/* OP_MKNOD (with a bind fallback in user namespaces) and OP_SYMLINK. */
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "init.h"

static mode_t node_type(const char *dest, const char *t) {
  if (!strcmp(t, "c") || !strcmp(t, "u")) return S_IFCHR;
  if (!strcmp(t, "b")) return S_IFBLK;
  if (!strcmp(t, "p")) return S_IFIFO;
  die(EINVAL, "mknod %s: unknown device type '%s'", dest, t);
}

/* Without CAP_MKNOD (user namespace): an empty file with the host node bound
 * over it, as runc does. */
static void bind_host_device(int dir, const char *base, const char *dest, const char *host) {
  int f = openat(dir, base, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0000);
  if (f < 0) die(errno, "mknod %s: create bind target", dest);
  close(f);
  int src = open(host, O_PATH | O_CLOEXEC);
  if (src < 0) die(errno, "mknod %s: open host device %s", dest, host);
  int dst = resolve(dest, RESOLVE_NO_SYMLINKS);
  if (dst < 0) die(errno, "mknod %s: reopen bind target", dest);
  char s[64], d[64];
  fd_path(src, s, sizeof s);
  fd_path(dst, d, sizeof d);
  if (mount(s, d, NULL, MS_BIND, NULL) < 0) die(errno, "bind device %s to %s", host, dest);
  close(src);
  close(dst);
}

void op_mknod(const struct op *o) {
  need_fields(o, 8);
  const char *dest = fstr(o, 0), *host = fstr(o, 7);
  mode_t type = node_type(dest, fstr(o, 1));
  unsigned major = (unsigned)fu64(o, 2), minor = (unsigned)fu64(o, 3);
  mode_t perm = (mode_t)fu64(o, 4) & 07777;
  uid_t uid = (uid_t)fu64(o, 5);
  gid_t gid = (gid_t)fu64(o, 6);

  char *base;
  int dir = parent_of(dest, &base);
  struct stat st;
  if (fstatat(dir, base, &st, AT_SYMLINK_NOFOLLOW) == 0) goto out; /* existing node: leave it */
  if (errno != ENOENT) die(errno, "mknod %s: stat", dest);

  if (mknodat(dir, base, type | perm, makedev(major, minor)) < 0) {
    if (errno != EPERM || type == S_IFIFO) die(errno, "mknod %s", dest);
    bind_host_device(dir, base, dest, host);
    goto out;
  }
  /* The node was just created by us and nothing in the container runs yet.
   * chown before chmod: chown clears setuid/setgid bits. */
  if (fchownat(dir, base, uid, gid, AT_SYMLINK_NOFOLLOW) < 0) die(errno, "mknod %s: chown %u:%u", dest, uid, gid);
  if (fchmodat(dir, base, perm, 0) < 0) die(errno, "mknod %s: chmod %o", dest, perm); /* mknod applied the umask */
out:
  close(dir);
  free(base);
}

void op_symlink(const struct op *o) {
  const char *target = fstr(o, 0), *dest = fstr(o, 1);
  char *base;
  int dir = parent_of(dest, &base);
  if (symlinkat(target, dir, base) < 0 && errno != EEXIST) die(errno, "symlink %s -> %s", dest, target);
  close(dir);
  free(base);
}
