/* OCI hooks run by the helper: OP_RUNTIME_HOOKS (pause while the runtime runs
 * prestart/createRuntime hooks), OP_HOOK (fork+exec one createContainer or
 * startContainer hook in the container's namespaces) and OP_OPEN_STATUS_FIFO
 * (the channel that tells `start` whether the startContainer hooks failed). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "init.h"

int status_fd = -1;

/*
 * Go's words for the signals a hook typically dies of ("signal: bad system call" is how runc
 * reports a hook killed by the seccomp filter; callers and runc's suite match on it). A table,
 * not strsignal(3): this runs between clone and execve, async-signal-safe calls only.
 */
static const char *sig_text(int sig) {
  switch (sig) {
  case SIGSYS: return "bad system call";
  case SIGKILL: return "killed";
  case SIGSEGV: return "segmentation fault";
  case SIGABRT: return "aborted";
  case SIGTERM: return "terminated";
  case SIGBUS: return "bus error";
  case SIGILL: return "illegal instruction";
  case SIGFPE: return "floating point exception";
  case SIGPIPE: return "broken pipe";
  case SIGINT: return "interrupt";
  case SIGHUP: return "hangup";
  case SIGQUIT: return "quit";
  default: return "other";
  }
}

void op_open_status_fifo(const struct op *o) {
  const char *path = fstr(o, 0);
  int fd = open(path, O_RDWR | O_CLOEXEC);
  if (fd < 0) die(errno, "open status fifo %s", path);
  struct stat st;
  if (fstat(fd, &st) < 0) die(errno, "open status fifo %s: fstat", path);
  if (!S_ISFIFO(st.st_mode)) die(EINVAL, "status fifo %s is not a fifo", path);
  status_fd = fd;
}

void report_status(const char *line, size_t len) {
  if (status_fd < 0) return;
  /* Best effort, and never blocking on a full pipe: `start` may be gone. */
  int fl = fcntl(status_fd, F_GETFL);
  if (fl >= 0) fcntl(status_fd, F_SETFL, fl | O_NONBLOCK);
  (void)!write(status_fd, line, len);
}

void op_runtime_hooks(const struct op *o) {
  (void)o;
  if (ctx.sync_fd < 0) die(EBADF, "runtime hooks: no sync socket (plan order)");
  send_msg(MSG_HOOKS, NULL, 0);
  uint32_t hdr[2];
  int r = fd_read_full(ctx.sync_fd, hdr, sizeof hdr);
  /* The parent kills us when a hook fails; EOF means it is gone. */
  if (r == 1) _exit(1);
  if (r < 0) die(errno, "runtime hooks: read sync socket");
  if (hdr[0] != MSG_HOOKS_DONE || hdr[1] != 0) die(EPROTO, "runtime hooks: unexpected message %u (length %u)", hdr[0], hdr[1]);
}

static long long now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Keeps the last bytes of the hook's output for the error message, one line. */
struct tail {
  char buf[384];
  size_t len;
};

static void tail_add(struct tail *t, const char *p, size_t n) {
  for (size_t i = 0; i < n; i++) {
    char c = p[i] == '\n' || p[i] == '\r' || p[i] == '\t' ? ' ' : p[i];
    if (t->len == sizeof t->buf - 1) {
      memmove(t->buf, t->buf + 1, t->len - 1);
      t->len--;
    }
    t->buf[t->len++] = c;
  }
  t->buf[t->len] = 0;
}

static void drain(int fd, struct tail *t, bool *eof) {
  char buf[512];
  for (;;) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n > 0) {
      tail_add(t, buf, (size_t)n);
      continue;
    }
    if (n == 0) *eof = true;
    return; /* EAGAIN or error */
  }
}

_Noreturn static void hook_child(int in_rd, int out_wr, const char *path, char **argv, char **envp) {
  if (dup2(in_rd, 0) < 0 || dup2(out_wr, 1) < 0 || dup2(out_wr, 2) < 0) _exit(126);
  /* Before pivot_root (createContainer) a hook starts in the container's
   * root, as with runc, which chdirs to the rootfs before running them. */
  if (!ctx.pivoted && ctx.root_fd >= 0 && fchdir(ctx.root_fd) < 0) {
    dprintf(2, "chdir %s: %s", ctx.rootfs, strerror(errno));
    _exit(126);
  }
  struct sigaction dfl = {.sa_handler = SIG_DFL};
  for (int sig = 1; sig < NSIG; sig++) sigaction(sig, &dfl, NULL);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL);
  syscall(SYS_close_range, 3, ~0U, 0);
  execve(path, argv, envp);
  dprintf(2, "exec %s: %s", path, strerror(errno));
  _exit(127);
}

void op_hook(const struct op *o) {
  need_fields(o, 6);
  const char *stage = fstr(o, 0), *path = fstr(o, 1), *prefix = fstr(o, 3), *suffix = fstr(o, 4);
  uint64_t timeout = fu64(o, 2), argc = fu64(o, 5);
  if (argc > o->nfields - 6) die(EINVAL, "%s hook %s: argc %llu with %u fields", stage, path, (unsigned long long)argc, o->nfields);
  uint32_t envc = o->nfields - 6 - (uint32_t)argc;
  char **argv = calloc(argc + 2, sizeof *argv), **envp = calloc(envc + 1u, sizeof *envp);
  if (!argv || !envp) die(ENOMEM, "%s hook %s", stage, path);
  for (uint32_t i = 0; i < argc; i++) argv[i] = (char *)fstr(o, 6 + i);
  if (argc == 0) argv[0] = (char *)path; /* execv's argv[0] defaults to the path */
  for (uint32_t i = 0; i < envc; i++) envp[i] = (char *)fstr(o, 6 + (uint32_t)argc + i);
  /* runc's order: the user's seccomp filter is in place before the
   * startContainer hooks run (they run as the container would). */
  if (!strcmp(stage, "startContainer")) seccomp_before_exec();

  /* The state on stdin, with the pid as the container sees it. */
  char pidbuf[24];
  int pn = snprintf(pidbuf, sizeof pidbuf, "%d", (int)getpid());
  size_t slen = strlen(prefix) + (size_t)pn + strlen(suffix);
  char *state = malloc(slen + 1);
  if (!state) die(ENOMEM, "%s hook %s", stage, path);
  snprintf(state, slen + 1, "%s%s%s", prefix, pidbuf, suffix);

  int in[2], out[2];
  if (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0) die(errno, "%s hook %s: pipe", stage, path);
  pid_t pid = fork();
  if (pid < 0) die(errno, "%s hook %s: fork", stage, path);
  if (pid == 0) hook_child(in[0], out[1], path, argv, envp);
  close(in[0]);
  close(out[1]);
  int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
  if (pidfd < 0) {
    int e = errno;
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    die(e, "%s hook %s: pidfd_open", stage, path);
  }
  /* The state is written as the hook reads it, inside the timeout: with
   * large annotations it exceeds the pipe buffer, and a hook that never reads
   * must not hold create past its timeout. A hook that exits unread gets
   * EPIPE (SIGPIPE is blocked): not a failure by itself. */
  fcntl(in[1], F_SETFL, O_NONBLOCK);
  fcntl(out[0], F_SETFL, O_NONBLOCK);
  size_t sent = 0;

  struct tail t = {.len = 0};
  bool eof = false, exited = false;
  long long deadline = timeout ? now_ms() + (long long)timeout * 1000 : 0;
  while (!exited) {
    if (in[1] >= 0 && sent < slen) {
      ssize_t w = write(in[1], state + sent, slen - sent);
      if (w > 0) sent += (size_t)w;
      else if (w < 0 && errno != EAGAIN && errno != EINTR) sent = slen; /* EPIPE: the hook closed its stdin */
    }
    if (in[1] >= 0 && sent >= slen) {
      close(in[1]);
      in[1] = -1;
    }
    struct pollfd fds[3] = {{.fd = pidfd, .events = POLLIN}, {.fd = eof ? -1 : out[0], .events = POLLIN}, {.fd = in[1], .events = POLLOUT}};
    int wait = -1;
    if (deadline) {
      long long left = deadline - now_ms();
      if (left <= 0) {
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        die(ETIMEDOUT, "error running hook: %s hook %s: timed out after %llu s", stage, path, (unsigned long long)timeout);
      }
      wait = left > INT_MAX ? INT_MAX : (int)left;
    }
    int n = poll(fds, 3, wait);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) die(errno, "%s hook %s: poll", stage, path);
    if (fds[1].revents) drain(out[0], &t, &eof);
    if (fds[0].revents) exited = true;
  }
  if (in[1] >= 0) close(in[1]);
  free(state);
  drain(out[0], &t, &eof); /* what is already buffered; a daemonized child may keep it open */
  int status;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) die(errno, "%s hook %s: waitpid", stage, path);
  }
  close(pidfd);
  close(out[0]);
  free(argv);
  free(envp);
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return;
  char how[96];
  if (WIFEXITED(status)) snprintf(how, sizeof how, "exit status %d", WEXITSTATUS(status));
  else snprintf(how, sizeof how, "killed by signal %d, signal: %s", WTERMSIG(status), sig_text(WTERMSIG(status)));
  die(ECANCELED, "error running hook: %s hook %s failed (%s)%s%s", stage, path, how, t.len ? ", output: " : "", t.buf); /* runc's words first */
}
