/* The process's executable and HOME, resolved inside the container as runc's
 * init does: OP_LOOKPATH (Go's exec.LookPath + runc's eaccess check, with
 * their exact error words: Docker maps them to exit codes 127 and 126) and
 * OP_HOME (the user's home from the container's /etc/passwd). */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "init.h"

/* Go's error strings are strerror's with a lower-case first letter, and
 * callers match on them case-sensitively ("no such file or directory"). */
static const char *go_err(int err, char *buf, size_t len) {
  snprintf(buf, len, "%s", strerror(err));
  buf[0] = (char)tolower((unsigned char)buf[0]);
  return buf;
}

/* strconv.Quote for the bytes runc's messages can hold: quotes, backslashes
 * and control characters escaped, the rest as is. */
static void quote(const char *s, char *out, size_t len) {
  size_t n = 0;
  out[n++] = '"';
  for (; *s && n + 6 < len; s++) {
    unsigned char c = (unsigned char)*s;
    const char *esc = NULL;
    switch (c) {
      case '"': esc = "\\\""; break;
      case '\\': esc = "\\\\"; break;
      case '\a': esc = "\\a"; break;
      case '\b': esc = "\\b"; break;
      case '\f': esc = "\\f"; break;
      case '\n': esc = "\\n"; break;
      case '\r': esc = "\\r"; break;
      case '\t': esc = "\\t"; break;
      case '\v': esc = "\\v"; break;
    }
    if (esc) n += (size_t)snprintf(out + n, len - n, "%s", esc);
    else if (c < 0x20 || c == 0x7f) n += (size_t)snprintf(out + n, len - n, "\\x%02x", c);
    else out[n++] = (char)c;
  }
  out[n++] = '"';
  out[n] = '\0';
}

/* filepath.Join(dir, name): joined, then cleaned lexically as Go's Clean
 * does (no repeated or trailing '/', no "." elements, ".." removes the
 * element before it and stays at "/"; empty is "."). The candidate found
 * is what gets exec'd, so it is spelled as runc would. */
static void join_clean(const char *dir, const char *name, char *out, size_t len) {
  char in[PATH_MAX];
  if ((size_t)snprintf(in, sizeof in, "%s/%s", dir, name) >= sizeof in || strlen(in) >= len)
    die(ENAMETOOLONG, "exec: %s/%s", dir, name);
  size_t n = strlen(in), r = 0, w = 0, dotdot = 0;
  bool rooted = in[0] == '/';
  if (rooted) out[w++] = '/', r = dotdot = 1;
  while (r < n) {
    if (in[r] == '/') {
      r++;
    } else if (in[r] == '.' && (r + 1 == n || in[r + 1] == '/')) {
      r++;
    } else if (in[r] == '.' && in[r + 1] == '.' && (r + 2 == n || in[r + 2] == '/')) {
      r += 2;
      if (w > dotdot) {
        w--;
        while (w > dotdot && out[w] != '/') w--;
      } else if (!rooted) {
        if (w > 0) out[w++] = '/';
        out[w++] = '.';
        out[w++] = '.';
        dotdot = w;
      }
    } else {
      if ((rooted && w != 1) || (!rooted && w != 0)) out[w++] = '/';
      while (r < n && in[r] != '/') out[w++] = in[r++];
    }
  }
  if (w == 0) out[w++] = '.';
  out[w] = '\0';
}

enum { FOUND, STAT_FAILED, NOT_EXECUTABLE };

/* Go 1.19's findExecutable: stat follows links; a directory or a file
 * without any execute bit is "permission denied". */
static int check(const char *file, int *err) {
  struct stat st;
  if (stat(file, &st) < 0) {
    *err = errno;
    return STAT_FAILED;
  }
  if (S_ISDIR(st.st_mode) || !(st.st_mode & 0111)) {
    *err = EACCES;
    return NOT_EXECUTABLE;
  }
  return FOUND;
}

void op_lookpath(const struct op *o) {
  const char *name = fstr(o, 0), *path_env = fstr(o, 1), *eaccess_op = fstr(o, 2);
  char q[PATH_MAX + 64], e[128], found[PATH_MAX];
  quote(name, q, sizeof q);
  int err = 0;
  if (strchr(name, '/')) {
    int r = check(name, &err);
    if (r == STAT_FAILED) die_text(err, "exec: %s: stat %s: %s", q, name, go_err(err, e, sizeof e));
    if (r == NOT_EXECUTABLE) die_text(EACCES, "exec: %s: permission denied", q);
    if (strlen(name) >= sizeof found) die(ENAMETOOLONG, "exec: %s", q);
    strcpy(found, name);
  } else {
    bool ok = false;
    /* filepath.SplitList: an empty PATH has no entries; an empty entry is ".". */
    for (const char *p = path_env; *path_env && !ok;) {
      const char *end = strchrnul(p, ':');
      char dir[PATH_MAX];
      size_t l = (size_t)(end - p);
      if (l >= sizeof dir) die(ENAMETOOLONG, "exec: %s: $PATH entry", q);
      memcpy(dir, p, l);
      dir[l] = '\0';
      join_clean(l ? dir : ".", name, found, sizeof found);
      if (check(found, &err) == FOUND) {
        if (found[0] != '/') die_text(EACCES, "exec: %s: cannot run executable found relative to current directory", q);
        ok = true;
      }
      if (!*end) break;
      p = end + 1;
    }
    if (!ok) die_text(ENOENT, "exec: %s: executable file not found in $PATH", q);
  }
  /* runc's eaccess: the mode bits can say yes where the kernel says no
   * (noexec mounts, ACLs, another owner's 0700 file). */
  if (faccessat(AT_FDCWD, found, X_OK, AT_EACCESS) < 0) {
    err = errno;
    /* A seccomp profile may refuse faccessat2: then access(2), as runc
     * (the real ids are the effective ones here); refused too: assume yes. */
    if (err == ENOSYS || err == EPERM) err = access(found, X_OK) < 0 && errno != ENOSYS && errno != EPERM ? errno : 0;
    if (err) die_text(err, "%s %s: %s", eaccess_op, found, go_err(err, e, sizeof e));
  }
  free(ctx.exec_path);
  ctx.exec_path = strdup(found);
  if (!ctx.exec_path) die(ENOMEM, "exec: %s", q);
}

/* The home field of the first /etc/passwd line for uid, or NULL. Lines as
 * runc parses them: surrounding white space trimmed, empty lines skipped,
 * fields split at ':' (name, password, uid, gid, gecos, home, shell). */
static char *home_of(FILE *f, unsigned long long uid) {
  char *line = NULL, *home = NULL;
  size_t cap = 0;
  ssize_t n;
  while (!home && (n = getline(&line, &cap, f)) >= 0) {
    char *s = line, *end = line + n;
    while (s < end && isspace((unsigned char)*s)) s++;
    while (end > s && isspace((unsigned char)end[-1])) *--end = '\0';
    if (s == end) continue;
    char *field[7] = {0};
    for (int i = 0; i < 7 && s; i++) {
      field[i] = s;
      s = strchr(s, ':');
      if (s) *s++ = '\0';
    }
    if (!field[2] || !*field[2]) continue;
    char *stop;
    errno = 0;
    unsigned long long v = strtoull(field[2], &stop, 10);
    if (errno || *stop || field[2][0] == '-' || v != uid) continue;
    home = strdup(field[5] ? field[5] : "");
    if (!home) die(ENOMEM, "home: /etc/passwd");
  }
  if (ferror(f)) die(errno ? errno : EIO, "home: read /etc/passwd");
  free(line);
  return home;
}

void op_home(const struct op *o) {
  unsigned long long uid = fu64(o, 0);
  char *home = NULL;
  /* Non-blocking and regular files only: a fifo planted at /etc/passwd
   * must not hang the init. No file (or none readable): runc's default. */
  int fd = open("/etc/passwd", O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
  if (fd >= 0) {
    struct stat st;
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
      FILE *f = fdopen(fd, "r");
      if (!f) die(errno, "home: fdopen /etc/passwd");
      home = home_of(f, uid);
      fclose(f);
    } else {
      close(fd);
    }
  }
  free(ctx.home);
  ctx.home = home ? home : strdup("/");
  if (!ctx.home) die(ENOMEM, "home");
}
