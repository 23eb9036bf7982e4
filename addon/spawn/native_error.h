// One error shape for the whole addon (crun's convention): the failing
// syscall, its errno and a message with context. It is filled in C-style code
// and turned into exactly one JS Error at the N-API boundary (addon.cc).
#ifndef TSRUN_NATIVE_ERROR_H
#define TSRUN_NATIVE_ERROR_H

struct native_error {
  int err;           // errno; 0 = no error
  char syscall[32];  // e.g. "clone"
  char msg[512];     // "<syscall> <context>: <strerror>"
};

// Records err (an errno value) with a printf-style context. Returns -1 so
// callers can write `return native_fail(e, errno, "open", "%s", path);`.
int native_fail(native_error *e, int err, const char *syscall, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#endif
