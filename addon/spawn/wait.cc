#include "wait.h"

#include <cerrno>
#include <sys/wait.h>

int wait_pid(pid_t pid, wait_result *out, native_error *err) {
  int status = 0;
  for (;;) {
    pid_t r = waitpid(pid, &status, 0);
    if (r == pid) break;
    if (r < 0 && errno == EINTR) continue;
    return native_fail(err, r < 0 ? errno : ECHILD, "waitpid", "pid %d", static_cast<int>(pid));
  }
  if (WIFSIGNALED(status)) {
    out->exit_code = 0;
    out->signal = WTERMSIG(status);
  } else {
    out->exit_code = WEXITSTATUS(status);
    out->signal = 0;
  }
  return 0;
}
