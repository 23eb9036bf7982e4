/* tsrun's executable (build/Release/tsrun; bin/tsrun is a symlink to it):
 * runs the TypeScript CLI, dist/src/cli/boot.js, with the node on PATH.
 *
 * Why a program and not a "#!/usr/bin/env -S -u ... node" script: env is one
 * more dynamically linked exec on every command, ~0.6 ms of each (measured
 * against this static one), and a container lifecycle is four commands.
 * What env -u did is done here, wider: every NODE_* variable (NODE_OPTIONS,
 * NODE_PATH, NODE_ICU_DATA, NODE_REPL_EXTERNAL_MODULE load code or data;
 * NODE_REDIRECT_WARNINGS, NODE_V8_COVERAGE write files as root;
 * NODE_CHANNEL_FD opens an IPC channel; NODE_EXTRA_CA_CERTS triples Node's
 * start-up) and every OPENSSL_* one (OPENSSL_CONF, OPENSSL_MODULES and
 * OPENSSL_ENGINES load shared objects) is dropped: tsrun reads none of them.
 * PATH entries that are empty or relative are skipped: a root launcher must
 * not run ./node from its caller's working directory.
 *
 * Why without libc (raw x86-64/arm64 system calls, its own _start): a static
 * glibc program spends ~0.3 ms starting up (measured, exec to exit) before
 * main, on every command; this one does a few system calls and execs node.
 *
 * The hot light commands (start, state, kill, delete) run with V8's
 * --no-rehash-snapshot: ~2.5 ms less of each Node start. Why only those, and
 * how the fixed hash seed it implies is kept from hash flooding:
 * src/util/hash-flood.ts. */
#include <errno.h>
#include <fcntl.h>

#include "sys.h"

#define PATH_MAX 4096
#define MAX_ARGS 1024

/* The compiler may emit calls to these for copies and zeroing. */
void *memcpy(void *d, const void *s, size_t n) {
  char *dp = d;
  const char *sp = s;
  while (n--) *dp++ = *sp++;
  return d;
}
void *memset(void *d, int c, size_t n) {
  char *dp = d;
  while (n--) *dp++ = (char)c;
  return d;
}

static __attribute__((noreturn)) void leave(int code) {
  for (;;) sys3(__NR_exit_group, code, 0, 0);
}

static void say(const char *s) { sys3(__NR_write, 2, (long)s, (long)len(s)); }

static const char *errname(long err) {
  switch (err) {
    case ENOENT: return "No such file or directory";
    case EACCES: return "Permission denied";
    case ENOEXEC: return "Exec format error";
    case ENAMETOOLONG: return "File name too long";
    case E2BIG: return "Argument list too long";
    case ENOMEM: return "Cannot allocate memory";
    default: return "system error";
  }
}

static __attribute__((noreturn)) void fail(const char *what, const char *path, long err, const char *hint) {
  say("tsrun: ");
  say(what);
  say(" ");
  say(path);
  say(": ");
  say(errname(err));
  say(hint);
  say("\n");
  leave(127);
}

/* The global flags that take a value (src/cli/table.ts GLOBAL_FLAGS), as the
 * CLI parser (src/cli/argv.ts) reads them: "--root state create x" is a
 * create, and must not run with the fixed hash seed of "state". */
static const char *const valued_globals[] = {"log", "log-format", "log-level", "root", "rootless", "cgroup-manager"};

/* 1 if the flag argument a ("-x", "--x") names a global flag that takes its
 * value from the next argument. */
static int takes_next(const char *a) {
  a++;
  if (*a == '-') a++;
  for (const char *c = a; *c; c++)
    if (*c == '=') return 0; /* --root=/x */
  for (size_t g = 0; g < sizeof valued_globals / sizeof *valued_globals; g++)
    if (same(a, valued_globals[g])) return 1;
  return 0;
}

/* The index of the command: the first argument after the global flags and
 * their values, as the CLI parser finds it (argc when there is none). */
static int command_index(int argc, char **argv) {
  int i = 1;
  while (i < argc && argv[i][0] == '-' && argv[i][1]) {
    if (same(argv[i++], "--")) break; /* the command follows */
    if (takes_next(argv[i - 1])) i++;
  }
  return i;
}

/* A wrong guess would only change the speed or, for a heavy command taken
 * for a light one, hand it the fixed hash seed. Every command of the CLI
 * (src/cli/table.ts), the fixed-seed ones first. */
static int fixed_seed_command(int argc, char **argv, int i) {
  static const char *const verbs[] = {"start", "state", "kill", "delete", "create", "events", "exec", "explain", "features",
                                      "list", "pause", "ps", "resume", "run", "spec", "update", "validate"};
  enum { FIXED_SEED_VERBS = 4 };
  if (i >= argc) return 0;
  for (size_t v = 0; v < FIXED_SEED_VERBS; v++)
    if (same(argv[i], verbs[v])) return 1;
  return 0;
}

/* Decimal, at most 8 digits; -1 otherwise. */
static long number(const char *s) {
  long v = 0;
  int n = 0;
  for (; *s >= '0' && *s <= '9' && n < 8; s++, n++) v = v * 10 + (*s - '0');
  return n == 0 || *s ? -1 : v;
}

static const char *env_value(char **envp, const char *name) {
  for (char **e = envp; *e; e++)
    if (starts(*e, name) && (*e)[len(name)] == '=') return *e + len(name) + 1;
  return NULL;
}

static void put_dec(char **p, long v) {
  char tmp[24];
  int n = 0;
  if (v < 0) *(*p)++ = '-', v = -v;
  do tmp[n++] = (char)('0' + v % 10), v /= 10;
  while (v);
  while (n) *(*p)++ = tmp[--n];
}

/* --preserve-fds passes fds 3.. of the CALLER; by the time TypeScript checks
 * them, Node has opened its own (epoll, eventfd, pipes) at the lowest free
 * numbers, so a gap in the caller's fds would be filled by one of Node's.
 * For create/run/exec, check them here, before Node exists, and tell the CLI
 * "TSRUN_CALLER_FDS=<n> <fd>": fds 3..3+n-1 were checked, <fd> is the first
 * one that was not open (-1: none). n counts --preserve-fds (the largest
 * value seen after the command: a value that belongs to exec's command only
 * makes n larger) and LISTEN_FDS when LISTEN_PID names this process, which
 * stays Node's pid. NULL for other commands. */
static const char *caller_fds(int argc, char **argv, char **envp, int cmd) {
  if (cmd >= argc || !(same(argv[cmd], "create") || same(argv[cmd], "run") || same(argv[cmd], "exec"))) return NULL;
  long n = 0;
  for (int i = cmd + 1; i < argc; i++) {
    const char *a = argv[i];
    if (same(a, "--")) break;
    const char *v = NULL;
    if (same(a, "--preserve-fds") || same(a, "-preserve-fds")) v = i + 1 < argc ? argv[i + 1] : NULL;
    else if (starts(a, "--preserve-fds=")) v = a + sizeof "--preserve-fds=" - 1;
    else if (starts(a, "-preserve-fds=")) v = a + sizeof "-preserve-fds=" - 1;
    long x = v ? number(v) : -1;
    if (x > n) n = x;
  }
  const char *lpid = env_value(envp, "LISTEN_PID"), *lfds = env_value(envp, "LISTEN_FDS");
  if (lpid && lfds && number(lpid) == sys3(__NR_getpid, 0, 0, 0) && number(lfds) > 0) n += number(lfds);
  if (n > 70000) n = 70000; /* the addon refuses more than 65536 anyway */
  long closed = -1;
  for (long fd = 3; fd < 3 + n && closed < 0; fd++)
    if (sys3(__NR_fcntl, fd, 1 /* F_GETFD */, 0) < 0) closed = fd;
  static char var[64] = "TSRUN_CALLER_FDS=";
  char *p = var + sizeof "TSRUN_CALLER_FDS=" - 1;
  put_dec(&p, n);
  *p++ = ' ';
  put_dec(&p, closed);
  *p = 0;
  return var;
}

__attribute__((noreturn, used, visibility("hidden"))) void launch(long *sp);
__attribute__((noreturn, used, visibility("hidden"))) void launch(long *sp) {
  int argc = (int)sp[0];
  char **argv = (char **)(sp + 1);
  char **envp = argv + argc + 1;

  int fast = fast_path(argc, argv);
  if (fast >= 0) leave(fast);

  /* The package root, from where this program really is (symlinks resolved). */
  static char entry[PATH_MAX];
  long n = sys3(__NR_readlink, (long)"/proc/self/exe", (long)entry, PATH_MAX - 64);
  if (n <= 0) fail("readlink", "/proc/self/exe", n < 0 ? -n : ENOENT, "");
  entry[n] = '\0';
  char *slash = entry + n;
  while (slash > entry && *slash != '/') slash--;
  *slash = '\0'; /* build/Release */
  static const char boot[] = "/../../dist/src/cli/boot.js";
  memcpy(slash, boot, sizeof boot); /* fits: readlink left 64 bytes */
  long err = sys3(__NR_faccessat, AT_FDCWD, (long)entry, 4 /* R_OK */);
  if (err < 0) fail("cannot read", entry, -err, " (run npm run build)");

  static char *args[MAX_ARGS + 4];
  static char *env[MAX_ARGS * 4];
  if (argc > MAX_ARGS) fail("run", "node", E2BIG, "");
  int na = 0;
  args[na++] = "node";
  int cmd = command_index(argc, argv);
  if (fixed_seed_command(argc, argv, cmd)) args[na++] = "--no-rehash-snapshot";
  args[na++] = entry;
  for (int i = 1; i < argc; i++) args[na++] = argv[i];
  args[na] = NULL;

  const char *path = "/usr/local/bin:/usr/bin:/bin";
  int ne = 0;
  const char *fds = caller_fds(argc, argv, envp, cmd);
  if (fds) env[ne++] = (char *)fds;
  for (char **e = envp; *e; e++) {
    /* Only the launcher says which fds the caller passed. */
    if (starts(*e, "NODE_") || starts(*e, "OPENSSL_") || starts(*e, "TSRUN_CALLER_FDS=")) continue;
    if (starts(*e, "PATH=")) path = *e + 5;
    if (ne == (int)(sizeof env / sizeof *env) - 1) fail("run", "node", E2BIG, "");
    env[ne++] = *e;
  }
  env[ne] = NULL;

  /* execvp's search over the absolute PATH entries in order (execvp would
   * take "" and relative ones from the cwd: skipped); EACCES is reported only
   * when no entry had a node to run. */
  static char cand[PATH_MAX];
  long last = ENOENT;
  int denied = 0;
  for (const char *d = path;; d++) {
    const char *stop = d;
    while (*stop && *stop != ':') stop++;
    size_t dl = (size_t)(stop - d);
    if (dl && *d == '/' && dl + sizeof "/node" <= sizeof cand) {
      memcpy(cand, d, dl);
      char *c = cand + dl;
      *c++ = '/';
      memcpy(c, "node", sizeof "node");
      long r = sys3(__NR_execve, (long)cand, (long)args, (long)env);
      if (r == -EACCES) denied = 1;
      else if (r != -ENOENT && r != -ENOTDIR) last = -r;
    }
    if (!*stop) break;
    d = stop;
  }
  fail("exec", "node", denied && last == ENOENT ? EACCES : last, "");
}

/* The kernel starts here with argc, argv and envp on the stack. */
#if defined(__x86_64__)
__asm__(".text\n.global _start\n_start:\n  xor %rbp, %rbp\n  mov %rsp, %rdi\n  and $-16, %rsp\n  call launch\n");
#elif defined(__aarch64__)
__asm__(".text\n.global _start\n_start:\n  mov x0, sp\n  bl launch\n");
#endif
