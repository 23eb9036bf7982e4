// waitpid for `tsrun run`, where the container init is Node's own child.
#ifndef TSRUN_WAIT_H
#define TSRUN_WAIT_H

#include <sys/types.h>
#include "native_error.h"

struct wait_result {
  int exit_code;  // valid when signal == 0
  int signal;     // terminating signal, 0 if it exited
};

int wait_pid(pid_t pid, wait_result *out, native_error *err);

#endif
