#include "native_error.h"

#include <cstdarg>
#include <cstdio>
#include <cstring>

int native_fail(native_error *e, int err, const char *syscall, const char *fmt, ...) {
  char context[400];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(context, sizeof context, fmt, ap);
  va_end(ap);
  e->err = err;
  snprintf(e->syscall, sizeof e->syscall, "%s", syscall);
  snprintf(e->msg, sizeof e->msg, "%s %s: %s", syscall, context, strerror(err));
  return -1;
}
