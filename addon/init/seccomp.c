/* OP_SECCOMP: load a classic-BPF filter compiled in the parent (libseccomp,
 * addon/spawn/seccomp.cc), and OP_SECCOMP_LISTENER: the seccomp agent's
 * socket for SCMP_ACT_NOTIFY.
 *
 * Where the filter is loaded (chosen by TypeScript, src/seccomp/plan.ts):
 *   when "now":  at the op's place in the plan. Used without no_new_privs,
 *                just before OP_IDENTITY, while the helper still has
 *                CAP_SYS_ADMIN (runc does the same).
 *   when "exec": deferred to the very end of OP_EXEC: after the signal
 *                reset, close_range and the signal mask, immediately before
 *                execve(2). Needs no_new_privs (set by OP_IDENTITY). The only
 *                syscalls the user's filter then sees from the runtime are
 *                the listener sendmsg/close (NOTIFY only) and execve.
 *
 * NOTIFY: OP_SECCOMP_LISTENER connects to the agent's socket while the host
 * path is still visible (before pivot_root). After loading with
 * SECCOMP_FILTER_FLAG_NEW_LISTENER the helper sends the notify fd and the
 * container process state JSON (built by TypeScript, runtime.md
 * "containerProcessState") in one sendmsg with SCM_RIGHTS, then closes both.
 */
#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include "init.h"

static int listener_fd = -1;

static struct {
  bool pending;
  unsigned long flags;
  struct sock_fprog prog;
  const char *state; /* containerProcessState JSON; NULL = no listener */
  size_t state_len;
} deferred;

void op_seccomp_listener(const struct op *o) {
  need_fields(o, 1);
  const char *path = fstr(o, 0);
  struct sockaddr_un addr = {.sun_family = AF_UNIX};
  if (o->fields[0].len >= sizeof addr.sun_path) die(ENAMETOOLONG, "seccomp: listener path %s", path);
  memcpy(addr.sun_path, path, o->fields[0].len + 1);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) die(errno, "seccomp: listener socket");
  if (connect(fd, (struct sockaddr *)&addr, sizeof addr) < 0) die(errno, "failed to connect with seccomp agent specified in the seccomp profile: connect to %s", path); /* runc's words */
  listener_fd = fd;
}

/* One sendmsg: the state JSON as data, the notify fd as SCM_RIGHTS. */
static void send_listener(int notify_fd, const char *state, size_t len) {
  char control[CMSG_SPACE(sizeof(int))];
  memset(control, 0, sizeof control);
  struct iovec iov = {.iov_base = (void *)state, .iov_len = len};
  struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control, .msg_controllen = sizeof control};
  struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(c), &notify_fd, sizeof(int));
  ssize_t n;
  do n = sendmsg(listener_fd, &msg, MSG_NOSIGNAL);
  while (n < 0 && errno == EINTR);
  if (n < 0) die(errno, "seccomp: send the notify fd to the seccomp agent");
  if ((size_t)n != len) die(EIO, "seccomp: short write of the container state to the seccomp agent (%zd of %zu)", n, len);
  close(notify_fd);
  close(listener_fd);
  listener_fd = -1;
}

static void load(unsigned long flags, struct sock_fprog *prog, const char *state, size_t state_len) {
  if (state) {
    if (listener_fd < 0) die(EINVAL, "seccomp: NOTIFY filter without a connected listener (OP_SECCOMP_LISTENER)");
    flags |= SECCOMP_FILTER_FLAG_NEW_LISTENER;
  }
  long r = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, prog);
  if (r < 0) die(errno, "seccomp: load filter of %u instructions (flags 0x%lx)", prog->len, flags);
  if (state) send_listener((int)r, state, state_len);
}

void op_seccomp(const struct op *o) {
  need_fields(o, 2);
  unsigned long flags = fu64(o, 0);
  const struct field *prog_bytes = &o->fields[1];
  size_t n = prog_bytes->len / sizeof(struct sock_filter);
  if (!n || prog_bytes->len % sizeof(struct sock_filter) || n > BPF_MAXINSNS)
    die(EINVAL, "seccomp: program of %zu bytes is not 1..%d instructions", prog_bytes->len, BPF_MAXINSNS);
  /* The listener is requested by passing a state JSON (field 3), never by flag. */
  if (flags & SECCOMP_FILTER_FLAG_NEW_LISTENER) die(EINVAL, "seccomp: pass the container state, not SECCOMP_FILTER_FLAG_NEW_LISTENER");
  const char *when = o->nfields > 2 ? fstr(o, 2) : "now";
  const char *state = o->nfields > 3 && o->fields[3].len ? o->fields[3].data : NULL;
  size_t state_len = state ? o->fields[3].len : 0;
  struct sock_fprog prog = {.len = (unsigned short)n, .filter = (struct sock_filter *)prog_bytes->data};
  if (!strcmp(when, "now")) {
    load(flags, &prog, state, state_len);
  } else if (!strcmp(when, "exec")) {
    if (deferred.pending) die(EINVAL, "seccomp: a filter is already deferred to exec");
    deferred.pending = true;
    deferred.flags = flags;
    deferred.prog = prog; /* the plan's field buffers live until execve */
    deferred.state = state;
    deferred.state_len = state_len;
  } else {
    die(EINVAL, "seccomp: unknown load point \"%s\" (now, exec)", when);
  }
}

void seccomp_before_exec(void) {
  if (!deferred.pending) return;
  deferred.pending = false;
  load(deferred.flags, &deferred.prog, deferred.state, deferred.state_len);
}
