// Console-socket plumbing for the runtime side (tsrun run/exec in the
// foreground with a terminal) and for the test receiver: a listening
// AF_UNIX socket, accept with a timeout, recvmsg that reports the exact
// shape of what arrived (payload, cmsg count, fds, control length), and
// TIOCSWINSZ. All blocking calls are bounded by a poll timeout.
#include "console.h"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

namespace {
int wait_readable(int fd, int timeout_ms, native_error *err, const char *what) {
  struct pollfd p = {fd, POLLIN, 0};
  for (;;) {
    int r = poll(&p, 1, timeout_ms);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return native_fail(err, errno, "poll", "%s", what);
    if (r == 0) return native_fail(err, ETIMEDOUT, "poll", "%s: nothing after %d ms", what, timeout_ms);
    return 0;
  }
}
}  // namespace

int unix_listen(const std::string &path, native_error *err) {
  struct sockaddr_un sa;
  memset(&sa, 0, sizeof sa);
  sa.sun_family = AF_UNIX;
  if (path.size() >= sizeof sa.sun_path) return native_fail(err, ENAMETOOLONG, "bind", "%s", path.c_str());
  memcpy(sa.sun_path, path.c_str(), path.size());
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return native_fail(err, errno, "socket", "%s", path.c_str());
  if (bind(fd, reinterpret_cast<struct sockaddr *>(&sa), sizeof sa) < 0 || listen(fd, 8) < 0) {
    int e = errno;
    close(fd);
    return native_fail(err, e, "bind", "%s", path.c_str());
  }
  return fd;
}

int unix_connect(const std::string &path, native_error *err) {
  struct sockaddr_un sa;
  memset(&sa, 0, sizeof sa);
  sa.sun_family = AF_UNIX;
  if (path.size() >= sizeof sa.sun_path) return native_fail(err, ENAMETOOLONG, "connect", "console socket %s", path.c_str());
  memcpy(sa.sun_path, path.c_str(), path.size());
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return native_fail(err, errno, "socket", "console socket %s", path.c_str());
  while (connect(fd, reinterpret_cast<struct sockaddr *>(&sa), sizeof sa) < 0) {
    if (errno == EINTR) continue;
    int e = errno;
    close(fd);
    return native_fail(err, e, "connect", "to console socket %s", path.c_str());
  }
  return fd;
}

int unix_accept(int fd, int timeout_ms, native_error *err) {
  if (wait_readable(fd, timeout_ms, err, "accept on console socket") < 0) return -1;
  int c;
  do c = accept4(fd, nullptr, nullptr, SOCK_CLOEXEC);
  while (c < 0 && errno == EINTR);
  if (c < 0) return native_fail(err, errno, "accept", "console socket");
  return c;
}

int recv_fds(int fd, int timeout_ms, recv_result *out, native_error *err) {
  if (wait_readable(fd, timeout_ms, err, "receive from console socket") < 0) return -1;
  char data[4096];
  // Room for more than one fd/cmsg, so that a malformed sender is detected, not truncated silently.
  alignas(struct cmsghdr) char control[CMSG_SPACE(sizeof(int) * 8) * 2];
  struct iovec iov = {data, sizeof data};
  struct msghdr msg;
  memset(&msg, 0, sizeof msg);
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  ssize_t n;
  do n = recvmsg(fd, &msg, MSG_CMSG_CLOEXEC);
  while (n < 0 && errno == EINTR);
  if (n < 0) return native_fail(err, errno, "recvmsg", "console socket");
  out->payload.assign(data, static_cast<size_t>(n));
  out->control_len = msg.msg_controllen;
  out->flags = msg.msg_flags;
  out->cmsgs = 0;
  for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
    out->cmsgs++;
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
    size_t nfd = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (size_t i = 0; i < nfd; i++) {
      int f;
      memcpy(&f, CMSG_DATA(c) + i * sizeof(int), sizeof f);
      out->fds.push_back(f);
    }
  }
  out->cmsg_space_one = CMSG_SPACE(sizeof(int));
  return 0;
}

int set_winsize(int fd, unsigned rows, unsigned cols, native_error *err) {
  struct winsize ws;
  memset(&ws, 0, sizeof ws);
  ws.ws_row = static_cast<unsigned short>(rows);
  ws.ws_col = static_cast<unsigned short>(cols);
  if (ioctl(fd, TIOCSWINSZ, &ws) < 0) return native_fail(err, errno, "ioctl", "TIOCSWINSZ on fd %d", fd);
  return 0;
}
