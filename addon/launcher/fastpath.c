/* Two commands whose answer the launcher knows without starting Node.
 *
 * Engines end every stop with calls that change nothing: containerd's runc
 * shim sends `kill --all <id> 9` after the init has exited (CRI twice), and
 * after `delete` its clean-up runs `delete --force <id>` of a container that
 * is already gone. For runc each is a ~5 ms Go start; for tsrun a Node start,
 * the most of what `docker stop` and CRI StopContainer cost beyond runc.
 *
 *   delete --force <id>   when neither <root>/<id> nor its lock exists → 0
 *   kill --all <id> [sig] when the init recorded in state.json is
 *                         gone, a zombie, or its pid was reused     → 0
 *
 * exactly what the CLI answers (src/commands/delete.ts, kill.ts). Anything
 * else — another flag, no --root, --debug, an id or signal the CLI would
 * judge, a state file not in the form tsrun writes, a live init — returns
 * -1 and the CLI runs as always. */
#include <errno.h>
#include <fcntl.h>

#include "sys.h"

#define FP_PATH_MAX 4096
#define MAX_ID 240

/* runc's id rule (src/state/paths.ts): [A-Za-z0-9_+.-]+, not "." or "..". */
static int valid_id(const char *id) {
  size_t n = len(id);
  if (n == 0 || n > MAX_ID || same(id, ".") || same(id, "..")) return 0;
  for (const char *c = id; *c; c++) {
    char ch = *c;
    int ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '_' || ch == '+' || ch == '-' || ch == '.';
    if (!ok) return 0;
  }
  return 1;
}

/* A signal number the CLI accepts whatever the container: 1..64, decimal. */
static int plain_signal(const char *s) {
  long v = 0;
  if (!*s || *s == '0') return 0;
  for (; *s; s++) {
    if (*s < '0' || *s > '9') return 0;
    v = v * 10 + (*s - '0');
    if (v > 64) return 0;
  }
  return v >= 1;
}

/* dst = a + "/" + b [+ "/" + c]; 0 when it does not fit. */
static int join(char *dst, const char *a, const char *b, const char *c) {
  size_t la = len(a), lb = len(b), lc = c ? len(c) : 0;
  if (la + lb + lc + 3 > FP_PATH_MAX) return 0;
  char *p = dst;
  for (size_t i = 0; i < la; i++) *p++ = a[i];
  *p++ = '/';
  for (size_t i = 0; i < lb; i++) *p++ = b[i];
  if (c) {
    *p++ = '/';
    for (size_t i = 0; i < lc; i++) *p++ = c[i];
  }
  *p = '\0';
  return 1;
}

/* Reads up to cap-1 bytes of a file, NUL-terminated; the length, or -1. */
static long slurp(const char *file, char *buf, long cap) {
  long fd = sys4(__NR_openat, AT_FDCWD, (long)file, O_RDONLY | O_CLOEXEC, 0);
  if (fd < 0) return -1;
  long got = 0;
  while (got < cap - 1) {
    long r = sys3(__NR_read, fd, (long)(buf + got), cap - 1 - got);
    if (r == -EINTR) continue;
    if (r < 0) {
      got = -1;
      break;
    }
    if (r == 0) break;
    got += r;
  }
  sys3(__NR_close, fd, 0, 0);
  if (got >= 0) buf[got] = '\0';
  return got;
}

/* Matches `lit` at *p and advances; 0 (p unchanged) otherwise. */
static int eat(const char **p, const char *lit) {
  if (!starts(*p, lit)) return 0;
  *p += len(lit);
  return 1;
}

/* Copies a run of decimal digits at *p into out (≤ 20); 0 when none. */
static int digits(const char **p, char *out) {
  int n = 0;
  while (**p >= '0' && **p <= '9') {
    if (n == 20) return 0;
    out[n++] = *(*p)++;
  }
  out[n] = '\0';
  return n > 0;
}

/* 1: the container's init is certainly not running (what containerStatus calls
 * "stopped"); 0: running, or not sure. The state file must begin exactly as
 * tsrun writes it: {"ociVersion":"…","id":"<id>","pid":N,"initStartTime":"T", */
static int init_stopped(const char *root, const char *id) {
  static char file[FP_PATH_MAX];
  static char buf[4096];
  if (!join(file, root, id, "state.json")) return 0;
  if (slurp(file, buf, sizeof buf) <= 0) return 0;
  const char *p = buf;
  if (!eat(&p, "{\"ociVersion\":\"")) return 0;
  while ((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || *p == '.' || *p == '-' || *p == '+') p++;
  if (!eat(&p, "\",\"id\":\"") || !eat(&p, id) || !eat(&p, "\",\"pid\":")) return 0;
  char pid[24], start[24];
  if (!digits(&p, pid) || !eat(&p, ",\"initStartTime\":\"") || !digits(&p, start) || *p != '"') return 0;
  if (same(pid, "0")) return 0;

  static char stat[1024];
  if (!join(file, "/proc", pid, "stat")) return 0;
  long n = slurp(file, stat, sizeof stat);
  if (n < 0) return 1; /* no such process */
  /* Fields after the last ')': state is field 3, starttime field 22. */
  const char *close = 0;
  for (const char *c = stat; *c; c++)
    if (*c == ')') close = c;
  if (!close || close[1] != ' ') return 0;
  const char *f = close + 2;
  if (*f == 'Z' || *f == 'X') return 1;
  for (int field = 3; field < 22; field++) {
    while (*f && *f != ' ') f++;
    if (!*f) return 0;
    f++;
  }
  char got[24];
  if (!digits(&f, got)) return 0;
  return !same(got, start); /* pid reused: our init is gone */
}

int fast_path(int argc, char **argv) {
  const char *root = 0;
  int i = 1;
  /* Global flags: only those engines pass; anything else is the CLI's to judge. */
  for (; i < argc; i++) {
    const char *a = argv[i];
    if (same(a, "--root") && i + 1 < argc) root = argv[++i];
    else if (starts(a, "--root=")) root = a + 7;
    else if ((same(a, "--log") || same(a, "--log-format")) && i + 1 < argc) i++;
    else if (starts(a, "--log=") || starts(a, "--log-format=")) continue;
    else break;
  }
  if (!root || !*root || i >= argc) return -1;
  const char *verb = argv[i++];
  int is_delete = same(verb, "delete"), is_kill = same(verb, "kill");
  if (!is_delete && !is_kill) return -1;

  int flag = 0, npos = 0;
  const char *pos[2] = {0, 0};
  for (; i < argc; i++) {
    const char *a = argv[i];
    if (is_delete && (same(a, "--force") || same(a, "-f"))) flag = 1;
    else if (is_kill && (same(a, "--all") || same(a, "-a"))) flag = 1;
    else if (a[0] == '-') return -1;
    else if (npos < 2) pos[npos++] = a;
    else return -1;
  }
  if (!flag || npos == 0 || !valid_id(pos[0])) return -1;

  if (is_delete) {
    if (npos != 1) return -1;
    static char dir[FP_PATH_MAX];
    if (!join(dir, root, pos[0], 0)) return -1;
    long r = sys4(__NR_faccessat, AT_FDCWD, (long)dir, 0 /* F_OK */, 0);
    if (r != -ENOENT) return -1;
    /* A lock without a directory is a create killed right after locking: the
     * CLI takes the dead owner's lock over and removes it (src/commands/delete.ts). */
    static char id_lock[MAX_ID + 8];
    size_t n = len(pos[0]);
    id_lock[0] = '.';
    for (size_t k = 0; k < n; k++) id_lock[1 + k] = pos[0][k];
    const char *sfx = ".lock";
    for (size_t k = 0; k < 6; k++) id_lock[1 + n + k] = sfx[k];
    if (!join(dir, root, id_lock, 0)) return -1;
    r = sys4(__NR_faccessat, AT_FDCWD, (long)dir, 0 /* F_OK */, 0);
    return r == -ENOENT ? 0 : -1;
  }
  if (npos == 2 && !plain_signal(pos[1])) return -1;
  return init_stopped(root, pos[0]) ? 0 : -1;
}
