// Console-socket helpers (see console.cc).
#ifndef TSRUN_CONSOLE_H
#define TSRUN_CONSOLE_H

#include <string>
#include <vector>
#include <sys/types.h>
#include "native_error.h"

struct recv_result {
  std::string payload;
  std::vector<int> fds;       // received fds (CLOEXEC), the caller owns them
  int cmsgs = 0;              // number of control messages
  size_t control_len = 0;     // msg_controllen after recvmsg
  size_t cmsg_space_one = 0;  // CMSG_SPACE(sizeof(int)): what go-runc requires control_len to equal
  int flags = 0;              // msg_flags (MSG_CTRUNC, MSG_TRUNC)
};

int unix_listen(const std::string &path, native_error *err);
int unix_accept(int fd, int timeout_ms, native_error *err);
// connect(2) to a console socket from the host (runc's order), CLOEXEC.
int unix_connect(const std::string &path, native_error *err);
int recv_fds(int fd, int timeout_ms, recv_result *out, native_error *err);
int set_winsize(int fd, unsigned rows, unsigned cols, native_error *err);

#endif
