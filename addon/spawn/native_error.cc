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

Napi::Error native_error_js(Napi::Env env, const native_error &e) {
  Napi::Error error = Napi::Error::New(env, e.msg);
  error.Set("errno", Napi::Number::New(env, e.err));
  error.Set("syscall", Napi::String::New(env, e.syscall));
  return error;
}

void throw_native(Napi::Env env, const native_error &e) { native_error_js(env, e).ThrowAsJavaScriptException(); }
