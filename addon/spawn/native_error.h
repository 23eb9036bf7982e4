// One error shape for the whole addon (crun's convention): the failing
// syscall, its errno and a message with context. It is filled in C-style code
// and turned into exactly one JS Error at the N-API boundary (native_error_js).
#ifndef TSRUN_NATIVE_ERROR_H
#define TSRUN_NATIVE_ERROR_H

#include <napi.h>

struct native_error {
  int err;           // errno; 0 = no error
  char syscall[32];  // e.g. "clone"
  char msg[512];     // "<syscall> <context>: <strerror>"
};

// Records err (an errno value) with a printf-style context. Returns -1 so
// callers can write `return native_fail(e, errno, "open", "%s", path);`.
int native_fail(native_error *e, int err, const char *syscall, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

// The JS Error for e: its message, with .errno and .syscall as Node's own fs errors have.
Napi::Error native_error_js(Napi::Env env, const native_error &e);

// Throws native_error_js(env, e) as the pending JS exception.
void throw_native(Napi::Env env, const native_error &e);

#endif
