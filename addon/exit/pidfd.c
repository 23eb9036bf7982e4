/* pidfd_open, pidfd_send_signal and close for the hot paths (kill, delete,
 * exec's joins): part of tsrun_exit.node, which every command loads anyway
 * to end, so acting on a pidfd costs no extra module load. Errors are thrown
 * as Error objects with .code = "E..." (Node's style) and .errno. */
#include <errno.h>
#include <node_api.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "pidfd.h"

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_send_signal
#define SYS_pidfd_send_signal 424
#endif

static napi_value throw_errno(napi_env env, const char *call, int err) {
  napi_value msg, code, error, num;
  const char *name = strerrorname_np(err);
  char text[128];
  snprintf(text, sizeof text, "%s: %s", call, strerror(err));
  if (napi_create_string_utf8(env, text, NAPI_AUTO_LENGTH, &msg) != napi_ok ||
      napi_create_string_utf8(env, name ? name : "EIO", NAPI_AUTO_LENGTH, &code) != napi_ok ||
      napi_create_error(env, code, msg, &error) != napi_ok || napi_create_int32(env, err, &num) != napi_ok ||
      napi_set_named_property(env, error, "errno", num) != napi_ok)
    return NULL;
  napi_throw(env, error);
  return NULL;
}

static int int_args(napi_env env, napi_callback_info info, size_t n, int32_t *out) {
  size_t argc = n;
  napi_value args[2];
  if (napi_get_cb_info(env, info, &argc, args, NULL, NULL) != napi_ok || argc < n) return -1;
  for (size_t i = 0; i < n; i++)
    if (napi_get_value_int32(env, args[i], &out[i]) != napi_ok) return -1;
  return 0;
}

/* pidfdOpen(pid) -> fd (O_CLOEXEC is implied by the kernel). */
static napi_value PidfdOpen(napi_env env, napi_callback_info info) {
  int32_t a[1];
  if (int_args(env, info, 1, a) < 0 || a[0] <= 0) {
    napi_throw_type_error(env, NULL, "pidfdOpen: expected a pid");
    return NULL;
  }
  long fd = syscall(SYS_pidfd_open, a[0], 0);
  if (fd < 0) return throw_errno(env, "pidfd_open", errno);
  napi_value v;
  napi_create_int32(env, (int32_t)fd, &v);
  return v;
}

/* pidfdSignal(fd, signo): pidfd_send_signal; signal 0 checks liveness. */
static napi_value PidfdSignal(napi_env env, napi_callback_info info) {
  int32_t a[2];
  if (int_args(env, info, 2, a) < 0) {
    napi_throw_type_error(env, NULL, "pidfdSignal: expected (fd, signal)");
    return NULL;
  }
  if (syscall(SYS_pidfd_send_signal, a[0], a[1], NULL, 0) < 0) return throw_errno(env, "pidfd_send_signal", errno);
  return NULL;
}

napi_status pidfd_register(napi_env env, napi_value exports) {
  napi_value fn;
  napi_status st;
  if ((st = napi_create_function(env, "pidfdOpen", NAPI_AUTO_LENGTH, PidfdOpen, NULL, &fn)) != napi_ok) return st;
  if ((st = napi_set_named_property(env, exports, "pidfdOpen", fn)) != napi_ok) return st;
  if ((st = napi_create_function(env, "pidfdSignal", NAPI_AUTO_LENGTH, PidfdSignal, NULL, &fn)) != napi_ok) return st;
  return napi_set_named_property(env, exports, "pidfdSignal", fn);
}
