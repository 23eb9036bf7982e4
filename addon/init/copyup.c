/* tmpcopyup: fill a fresh tmpfs with a copy of the directory it covers.
 * Everything is fd-relative and never follows symlinks, so content of the
 * container's rootfs cannot redirect the copy outside the new mount. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "init.h"

static void copy_file(int src_dir, int dst_dir, const char *name, const struct stat *st, const char *what) {
  int in = openat(src_dir, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (in < 0) die(errno, "tmpcopyup %s: open %s", what, name);
  int out = openat(dst_dir, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, st->st_mode & 07777);
  if (out < 0) die(errno, "tmpcopyup %s: create %s", what, name);
  char buf[65536];
  for (;;) {
    ssize_t n = read(in, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) die(errno, "tmpcopyup %s: read %s", what, name);
    if (n == 0) break;
    for (ssize_t off = 0; off < n;) {
      ssize_t w = write(out, buf + off, (size_t)(n - off));
      if (w < 0 && errno == EINTR) continue;
      if (w < 0) die(errno, "tmpcopyup %s: write %s", what, name);
      off += w;
    }
  }
  close(in);
  close(out);
}

/* Copies the entries of src_dir into dst_dir, recursively, keeping modes and
 * owners; `what` names the mount in errors. */
void copy_tree(int src_dir, int dst_dir, const char *what) {
  int iter = openat(src_dir, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (iter < 0) die(errno, "tmpcopyup %s: open directory", what);
  DIR *d = fdopendir(iter);
  if (!d) die(errno, "tmpcopyup %s: fdopendir", what);
  struct dirent *e;
  while ((errno = 0, e = readdir(d))) {
    const char *name = e->d_name;
    if (!strcmp(name, ".") || !strcmp(name, "..")) continue;
    struct stat st;
    if (fstatat(src_dir, name, &st, AT_SYMLINK_NOFOLLOW) < 0) die(errno, "tmpcopyup %s: stat %s", what, name);
    switch (st.st_mode & S_IFMT) {
    case S_IFDIR: {
      if (mkdirat(dst_dir, name, st.st_mode & 07777) < 0) die(errno, "tmpcopyup %s: mkdir %s", what, name);
      int s = openat(src_dir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      int t = openat(dst_dir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (s < 0 || t < 0) die(errno, "tmpcopyup %s: open directory %s", what, name);
      copy_tree(s, t, what);
      close(s);
      close(t);
      break;
    }
    case S_IFREG:
      copy_file(src_dir, dst_dir, name, &st, what);
      break;
    case S_IFLNK: {
      char target[PATH_MAX];
      ssize_t n = readlinkat(src_dir, name, target, sizeof target - 1);
      if (n < 0) die(errno, "tmpcopyup %s: readlink %s", what, name);
      target[n] = 0;
      if (symlinkat(target, dst_dir, name) < 0) die(errno, "tmpcopyup %s: symlink %s", what, name);
      break;
    }
    default: /* fifos, sockets, device nodes */
      if (mknodat(dst_dir, name, st.st_mode, st.st_rdev) < 0) die(errno, "tmpcopyup %s: mknod %s", what, name);
    }
    if (fchownat(dst_dir, name, st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW) < 0) die(errno, "tmpcopyup %s: chown %s", what, name);
    /* The umask narrowed what mkdirat/openat/mknodat created. */
    if (!S_ISLNK(st.st_mode) && fchmodat(dst_dir, name, st.st_mode & 07777, 0) < 0) die(errno, "tmpcopyup %s: chmod %s", what, name);
  }
  if (errno) die(errno, "tmpcopyup %s: readdir", what);
  closedir(d);
}
