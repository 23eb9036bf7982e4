/* Calls on the stop/remove path whose answer the launcher knows without
 * starting Node.
 *
 * Engines make several runtime calls for one stop: containerd's runc shim
 * sends `kill <id> <sig>`, `kill --all <id> 9` after the init has exited (CRI
 * twice), `delete <id>`, and after it `delete --force <id>` of a container that
 * is already gone. For runc each is a ~5 ms Go start; for tsrun a Node start.
 *
 *   kill <id> [sig]       live init, not (SIGKILL without a private pid
 *                         namespace): pidfd_send_signal through a pidfd opened
 *                         before the start time is checked               → 0
 *   kill --all <id> [sig] init gone, a zombie, or its pid reused: what is
 *                         left in its cgroup signalled, frozen meanwhile  → 0
 *   delete [--force] <id> init gone, no poststop hooks, no host extras,
 *                         nothing left in its cgroup: under the id's lock,
 *                         the cgroups it created, then its state dir     → 0
 *   delete --force <id>   when neither <root>/<id> nor its lock exists   → 0
 *
 * exactly what the CLI does (src/commands/kill.ts, delete.ts). What the C
 * needs beyond state.json (pid, start time) is in <root>/<id>/fast, which
 * create writes after the final state.json (src/state/fast.ts). Anything else —
 * another flag, no --root, --debug, an id or signal the CLI would judge, a
 * state file not in the form tsrun writes, no fast file, a process left in the
 * cgroup at delete, a sub-cgroup, a freeze that does not settle, the lock held, any failure before the state is removed — returns -1
 * and the CLI runs as always. */
#include <errno.h>
#include <fcntl.h>

#include "sys.h"

#ifndef __NR_pidfd_open
#define __NR_pidfd_open 434
#endif
#ifndef __NR_pidfd_send_signal
#define __NR_pidfd_send_signal 424
#endif
#ifndef O_DIRECTORY
#define O_DIRECTORY 0200000
#endif
#define AT_REMOVEDIR 0x200

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

/* The init as state.json records it (its first fields, exactly as tsrun writes them:
 * {"ociVersion":"…","id":"<id>","pid":N,"initStartTime":"T",). */
struct init_rec {
  char pid[24], start[24];
};

static int read_init(const char *root, const char *id, struct init_rec *r) {
  static char file[FP_PATH_MAX];
  static char buf[4096];
  if (!join(file, root, id, "state.json")) return 0;
  if (slurp(file, buf, sizeof buf) <= 0) return 0;
  const char *p = buf;
  if (!eat(&p, "{\"ociVersion\":\"")) return 0;
  while ((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || *p == '.' || *p == '-' || *p == '+') p++;
  if (!eat(&p, "\",\"id\":\"") || !eat(&p, id) || !eat(&p, "\",\"pid\":")) return 0;
  if (!digits(&p, r->pid) || !eat(&p, ",\"initStartTime\":\"") || !digits(&p, r->start) || *p != '"') return 0;
  return !same(r->pid, "0");
}

enum { INIT_UNSURE = -1, INIT_ALIVE = 0, INIT_STOPPED = 1 };

/* Field 22 (start time) of /proc/<pid>/stat into got; state letter into *st. 0: no such process, -1: unreadable. */
static int proc_stat(const char *pid, char *got, char *st) {
  static char file[64];
  static char stat[1024];
  if (!join(file, "/proc", pid, "stat")) return -1;
  long n = slurp(file, stat, sizeof stat);
  if (n < 0) return 0;
  const char *close = 0;
  for (const char *c = stat; *c; c++)
    if (*c == ')') close = c;
  if (!close || close[1] != ' ') return -1;
  const char *f = close + 2;
  *st = *f;
  for (int field = 3; field < 22; field++) {
    while (*f && *f != ' ') f++;
    if (!*f) return -1;
    f++;
  }
  return digits(&f, got) ? 1 : -1;
}

/* What containerStatus calls "stopped" (missing, zombie, pid reused) against a live init. */
static int init_state(const struct init_rec *r) {
  char got[24], st = 0;
  int k = proc_stat(r->pid, got, &st);
  if (k == 0) return INIT_STOPPED;
  if (k < 0) return INIT_UNSURE;
  if (st == 'Z' || st == 'X') return INIT_STOPPED;
  return same(got, r->start) ? INIT_ALIVE : INIT_STOPPED;
}

/* <root>/<id>/fast (src/state/fast.ts), split into lines in place. */
#define MAX_DIRS 64
struct fast_rec {
  int private_pidns;
  int poststop;
  const char *procs;
  const char *freezer; /* its directory, or 0 */
  int freezer_v2;
  const char *cgkill;
  int ndirs;
  const char *dirs[MAX_DIRS];
  int leaf[MAX_DIRS];
};

static int read_fast(const char *root, const char *id, struct fast_rec *f) {
  static char file[FP_PATH_MAX];
  static char buf[32768];
  if (!join(file, root, id, "fast")) return 0;
  long n = slurp(file, buf, sizeof buf);
  if (n <= 0 || n >= (long)sizeof buf - 1) return 0;
  f->private_pidns = -1;
  f->poststop = -1;
  f->procs = 0;
  f->freezer = 0;
  f->freezer_v2 = 0;
  f->cgkill = 0;
  f->ndirs = 0;
  int version = 0, end = 0;
  char *line = buf;
  while (*line) {
    char *nl = line;
    while (*nl && *nl != '\n') nl++;
    if (!*nl) return 0; /* every line ends with a newline: a torn file is refused */
    *nl = '\0';
    const char *v = line;
    if (end) return 0;
    if (eat(&v, "tsrun-fast ")) version = same(v, "1");
    else if (eat(&v, "pidns ")) f->private_pidns = same(v, "private") ? 1 : same(v, "shared") ? 0 : -1;
    else if (eat(&v, "poststop ")) f->poststop = same(v, "0") ? 0 : 1;
    else if (eat(&v, "procs ")) f->procs = v;
    else if (eat(&v, "freezer v1 ")) f->freezer = v, f->freezer_v2 = 0;
    else if (eat(&v, "freezer v2 ")) f->freezer = v, f->freezer_v2 = 1;
    else if (eat(&v, "cgkill ")) f->cgkill = v;
    else if (starts(line, "leaf /") || starts(line, "dir /")) {
      if (f->ndirs == MAX_DIRS) return 0;
      f->leaf[f->ndirs] = line[0] == 'l';
      f->dirs[f->ndirs++] = line + (line[0] == 'l' ? 5 : 4);
    } else if (same(line, "end")) end = 1;
    else return 0;
    line = nl + 1;
  }
  return version && end && f->private_pidns >= 0 && f->poststop >= 0 && (!f->procs || f->procs[0] == '/') &&
         (!f->freezer || f->freezer[0] == '/') && (!f->cgkill || f->cgkill[0] == '/');
}

struct dirent64 {
  unsigned long long d_ino;
  long long d_off;
  unsigned short d_reclen;
  unsigned char d_type;
  char d_name[];
};
#define DT_DIR 4

/* Calls each(name, is_dir, ctx) for the entries of dir but . and ..; -1 when it cannot be read, else 0. */
static int each_entry(const char *dir, int (*each)(const char *, int, void *), void *ctx) {
  static char ents[8192];
  long fd = sys4(__NR_openat, AT_FDCWD, (long)dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
  if (fd < 0) return fd == -ENOENT ? 0 : -1;
  int rc = 0;
  for (;;) {
    long n = sys3(__NR_getdents64, fd, (long)ents, sizeof ents);
    if (n < 0) {
      rc = -1;
      break;
    }
    if (n == 0) break;
    for (long off = 0; off < n;) {
      struct dirent64 *d = (struct dirent64 *)(ents + off);
      off += d->d_reclen;
      if (same(d->d_name, ".") || same(d->d_name, "..")) continue;
      if (each(d->d_name, d->d_type == DT_DIR || d->d_type == 0 /* unknown: as a dir, to be safe */, ctx)) {
        rc = -1;
        break;
      }
    }
    if (rc) break;
  }
  sys3(__NR_close, fd, 0, 0);
  return rc;
}

static int refuse_subdir(const char *name, int is_dir, void *ctx) {
  (void)name, (void)ctx;
  return is_dir;
}

/* 1: the cgroup lists no process and has no sub-cgroup (or is gone); 0: something is there, or not sure. */
static int cgroup_empty(const char *procs) {
  if (!procs) return 1;
  static char file[FP_PATH_MAX];
  static char buf[64];
  if (!join(file, procs, "cgroup.procs", 0)) return 0;
  long fd = sys4(__NR_openat, AT_FDCWD, (long)file, O_RDONLY | O_CLOEXEC, 0);
  if (fd < 0 && fd != -ENOENT) return 0;
  if (fd >= 0) {
    long n = sys3(__NR_read, fd, (long)buf, sizeof buf);
    sys3(__NR_close, fd, 0, 0);
    if (n != 0) return 0; /* a pid, or an error */
  }
  return each_entry(procs, refuse_subdir, 0) == 0; /* a directory gone is empty too */
}

/* "<pid> <starttime>" of this process: what src/state/lock.ts writes in a lock. */
static int self_identity(char *out, size_t cap) {
  static char self[1024];
  long n = slurp("/proc/self/stat", self, sizeof self);
  if (n <= 0) return 0;
  char pid[24];
  const char *p = self;
  if (!digits(&p, pid)) return 0;
  char got[24], st;
  if (proc_stat(pid, got, &st) != 1) return 0;
  size_t lp = len(pid), lg = len(got);
  if (lp + lg + 2 > cap) return 0;
  char *o = out;
  for (size_t i = 0; i < lp; i++) *o++ = pid[i];
  *o++ = ' ';
  for (size_t i = 0; i < lg; i++) *o++ = got[i];
  *o = '\0';
  return 1;
}

static char lock_file[FP_PATH_MAX];

/* The id's lock, as src/state/lock.ts takes it (O_EXCL, owner identity); 0 when held by anyone. */
static int lock_id(const char *root, const char *id) {
  static char name[MAX_ID + 8];
  size_t n = len(id);
  name[0] = '.';
  for (size_t k = 0; k < n; k++) name[1 + k] = id[k];
  const char *sfx = ".lock";
  for (size_t k = 0; k < 6; k++) name[1 + n + k] = sfx[k];
  if (!join(lock_file, root, name, 0)) return 0;
  char me[64];
  if (!self_identity(me, sizeof me)) return 0;
  long fd = sys4(__NR_openat, AT_FDCWD, (long)lock_file, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return 0;
  long w = sys3(__NR_write, fd, (long)me, len(me));
  sys3(__NR_close, fd, 0, 0);
  if (w != (long)len(me)) {
    sys3(__NR_unlinkat, AT_FDCWD, (long)lock_file, 0);
    return 0;
  }
  return 1;
}

static void unlock_id(void) { sys3(__NR_unlinkat, AT_FDCWD, (long)lock_file, 0); }

/* Writes val to dir/name: 0, or -errno. */
static long cg_write(const char *dir, const char *name, const char *val) {
  static char file[FP_PATH_MAX];
  if (!join(file, dir, name, 0)) return -ENAMETOOLONG;
  long fd = sys4(__NR_openat, AT_FDCWD, (long)file, O_WRONLY | O_CLOEXEC, 0);
  if (fd < 0) return fd;
  long n = len(val);
  long w = sys3(__NR_write, fd, (long)val, n);
  sys3(__NR_close, fd, 0, 0);
  return w == n ? 0 : w < 0 ? w : -EIO;
}

/* dir/name, NUL-terminated, trailing newline dropped; the length or -1. */
static long cg_read(const char *dir, const char *name, char *buf, long cap) {
  static char file[FP_PATH_MAX];
  if (!join(file, dir, name, 0)) return -1;
  long n = slurp(file, buf, cap);
  if (n > 0 && buf[n - 1] == '\n') buf[--n] = '\0';
  return n;
}

static void nap_ms(long ms) {
  struct {
    long s, ns;
  } ts = {0, ms * 1000000L};
  sys3(__NR_nanosleep, (long)&ts, 0, 0);
}

static int v2_frozen(const char *dir) {
  static char ev[512];
  if (cg_read(dir, "cgroup.events", ev, sizeof ev) <= 0) return 0;
  for (const char *l = ev; *l;) {
    if (starts(l, "frozen 1") && (l[8] == '\n' || l[8] == '\0')) return 1;
    while (*l && *l != '\n') l++;
    if (*l) l++;
  }
  return 0;
}

static void thaw(const struct fast_rec *f) {
  static char st[32];
  if (f->freezer_v2) {
    cg_write(f->freezer, "cgroup.freeze", "0");
    return;
  }
  cg_write(f->freezer, "freezer.state", "THAWED");
  for (int i = 0; i < 1000; i++) {
    if (cg_read(f->freezer, "freezer.state", st, sizeof st) > 0 && same(st, "THAWED")) return;
    nap_ms(1);
  }
}

/* src/cgroups/freezer.ts, bounded shorter: 1 frozen; -1 not (thawed again: the CLI retries longer). */
static int freeze(const struct fast_rec *f) {
  static char st[32];
  for (int i = 0; i < 40; i++) {
    if (f->freezer_v2) {
      if (i == 0 && cg_write(f->freezer, "cgroup.freeze", "1") < 0) return -1;
      if (v2_frozen(f->freezer)) return 1;
    } else {
      if (cg_write(f->freezer, "freezer.state", "FROZEN") < 0) break;
      if (cg_read(f->freezer, "freezer.state", st, sizeof st) > 0 && same(st, "FROZEN")) return 1;
    }
    nap_ms(i < 10 ? 1 + i : 10);
  }
  thaw(f);
  return -1;
}

/* CgroupDirs.killAll(): every process in the cgroup signalled, frozen meanwhile so nothing forks
 * past it (cgroup2 alone, SIGKILL: cgroup.kill). 0 done, -1 the CLI's (nothing or part done:
 * signalling again is harmless). */
static int kill_left(const struct fast_rec *f, int sig) {
  if (sig == 9 && f->cgkill) {
    long e = cg_write(f->cgkill, "cgroup.kill", "1");
    if (e == 0) return 0;
    if (e != -ENOENT) return -1;
  }
  if (!f->procs || cgroup_empty(f->procs)) return 0;
  if (each_entry(f->procs, refuse_subdir, 0) != 0) return -1; /* the CLI walks sub-cgroups */
  int frozen = 0;
  if (f->freezer) {
    if (freeze(f) < 0) return -1;
    frozen = 1;
  }
  static char procs[65536];
  long n = cg_read(f->procs, "cgroup.procs", procs, sizeof procs);
  int rc = n >= 0 && n < (long)sizeof procs - 2 ? 0 : -1;
  for (const char *p = procs; rc == 0 && n > 0 && *p;) {
    long pid = 0;
    while (*p >= '0' && *p <= '9') pid = pid * 10 + (*p++ - '0');
    if (*p == '\n') p++;
    else if (*p) rc = -1;
    if (pid > 0) {
      long e = sys3(__NR_kill, pid, sig, 0);
      if (e < 0 && e != -ESRCH) rc = -1;
    }
  }
  if (frozen) thaw(f);
  return rc;
}

static int kill_fast(const char *root, const char *id, int all, int sig) {
  struct init_rec r;
  static struct fast_rec f;
  if (!read_init(root, id, &r) || !read_fast(root, id, &f)) return -1;
  int st = init_state(&r);
  if (st == INIT_STOPPED) {
    /* runc: --all still reaches what is left in the cgroup; without it, "not running" is the CLI's to say. */
    return all ? kill_left(&f, sig) : -1;
  }
  /* --all, or SIGKILL without a private pid namespace: the whole cgroup, the CLI's job (freeze, signal, thaw). */
  if (st != INIT_ALIVE || all || (sig == 9 && !f.private_pidns)) return -1;
  long pid = 0;
  for (const char *c = r.pid; *c; c++) pid = pid * 10 + (*c - '0');
  long pidfd = sys3(__NR_pidfd_open, pid, 0, 0);
  if (pidfd < 0) return -1;
  /* The pidfd pins this process: if it is still our init now, the signal reaches our init. */
  int rc = -1;
  if (init_state(&r) == INIT_ALIVE && sys4(__NR_pidfd_send_signal, pidfd, sig, 0, 0) == 0) rc = 0;
  sys3(__NR_close, pidfd, 0, 0);
  return rc;
}

struct unlink_ctx {
  const char *dir;
  int failed;
};

static int unlink_entry(const char *name, int is_dir, void *ctx) {
  struct unlink_ctx *u = ctx;
  static char file[FP_PATH_MAX];
  if (is_dir || same(name, "state.json") || same(name, "fast")) return is_dir;
  if (!join(file, u->dir, name, 0)) return 1;
  long r = sys3(__NR_unlinkat, AT_FDCWD, (long)file, 0);
  if (r < 0 && r != -ENOENT) u->failed = 1;
  return 0;
}

/* Under the lock: the init is the same stopped one, nothing runs in the cgroup. Removes what
 * destroyContainer would, in its order; -1 (nothing of the state removed) leaves the rest to the CLI. */
static int delete_locked(const char *root, const char *id, const struct init_rec *before, const struct fast_rec *f) {
  struct init_rec r;
  if (!read_init(root, id, &r) || !same(r.pid, before->pid) || !same(r.start, before->start)) return -1;
  if (init_state(&r) != INIT_STOPPED || !cgroup_empty(f->procs)) return -1;
  /* Deepest first; a leaf that will not go (a sub-cgroup, a process draining) is the CLI's to retry. */
  for (int k = f->ndirs - 1; k >= 0; k--) {
    long e = sys3(__NR_unlinkat, AT_FDCWD, (long)f->dirs[k], AT_REMOVEDIR);
    if (e < 0 && e != -ENOENT && f->leaf[k]) return -1;
  }
  static char dir[FP_PATH_MAX], file[FP_PATH_MAX];
  if (!join(dir, root, id, 0)) return -1;
  /* A sub-directory in the state dir: the CLI's recursive removal. */
  if (each_entry(dir, refuse_subdir, 0) != 0) return -1;
  struct unlink_ctx u = {dir, 0};
  if (each_entry(dir, unlink_entry, &u) != 0 || u.failed) return -1;
  /* The record last: until it goes, the CLI can still finish a delete we could not. */
  if (!join(file, dir, "fast", 0)) return -1;
  long e = sys3(__NR_unlinkat, AT_FDCWD, (long)file, 0);
  if (e < 0 && e != -ENOENT) return -1;
  if (!join(file, dir, "state.json", 0)) return -1;
  e = sys3(__NR_unlinkat, AT_FDCWD, (long)file, 0);
  if (e < 0) return -1;
  e = sys3(__NR_unlinkat, AT_FDCWD, (long)dir, AT_REMOVEDIR);
  return e == 0 || e == -ENOENT ? 0 : -1;
}

static int delete_fast(const char *root, const char *id) {
  struct init_rec r;
  static struct fast_rec f;
  if (!read_init(root, id, &r) || !read_fast(root, id, &f)) return -1;
  if (f.poststop != 0 || init_state(&r) != INIT_STOPPED || !cgroup_empty(f.procs)) return -1;
  static char file[FP_PATH_MAX];
  /* Intel RDT directories to release (src/lifecycle/host-extras.ts): the CLI's. */
  if (!join(file, root, id, "host-extras.json")) return -1;
  if (sys4(__NR_faccessat, AT_FDCWD, (long)file, 0, 0) != -ENOENT) return -1;
  if (!lock_id(root, id)) return -1;
  int rc = delete_locked(root, id, &r, &f);
  unlock_id();
  return rc;
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
  if (npos == 0 || !valid_id(pos[0])) return -1;

  if (is_delete) {
    if (npos != 1) return -1;
    static char dir[FP_PATH_MAX];
    if (!join(dir, root, pos[0], 0)) return -1;
    long r = sys4(__NR_faccessat, AT_FDCWD, (long)dir, 0 /* F_OK */, 0);
    if (r == 0) return delete_fast(root, pos[0]);
    if (r != -ENOENT || !flag) return -1;
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
  int sig = 15;
  if (npos == 2) {
    sig = 0;
    for (const char *c = pos[1]; *c; c++) sig = sig * 10 + (*c - '0');
  }
  return kill_fast(root, pos[0], flag, sig);
}
