// See reexec.h. Every fd Node opened is close-on-exec (libuv and fs use
// O_CLOEXEC), so the new image starts with just what tsrun was given; Node
// marks stdio close-on-exec too, so 0-2 are made inheritable again.
#include "reexec.h"

#include "native_error.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include <string>
#include <vector>

namespace {

bool string_array(const Napi::Value &v, std::vector<std::string> *out) {
  if (!v.IsArray()) return false;
  Napi::Array a = v.As<Napi::Array>();
  for (uint32_t i = 0; i < a.Length(); i++) {
    Napi::Value s = a.Get(i);
    if (!s.IsString()) return false;
    out->push_back(s.As<Napi::String>().Utf8Value());
  }
  return true;
}

std::vector<char *> c_array(std::vector<std::string> &v) {
  std::vector<char *> p;
  for (auto &s : v) p.push_back(&s[0]);
  p.push_back(nullptr);
  return p;
}

Napi::Value Execve(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  std::vector<std::string> argv, envp;
  if (info.Length() < 3 || !info[0].IsString() || !string_array(info[1], &argv) || argv.empty() ||
      !string_array(info[2], &envp)) {
    Napi::TypeError::New(env, "execve: expected (path, argv: non-empty string[], env: string[])").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  std::string path = info[0].As<Napi::String>().Utf8Value();
  std::vector<char *> a = c_array(argv), e = c_array(envp);
  native_error err{};
  for (int fd = 0; fd <= 2; fd++) {
    int flags = fcntl(fd, F_GETFD);
    if (flags >= 0 && (flags & FD_CLOEXEC) && fcntl(fd, F_SETFD, flags & ~FD_CLOEXEC) < 0) {
      native_fail(&err, errno, "fcntl", "clear FD_CLOEXEC on fd %d", fd);
      throw_native(env, err);
      return env.Undefined();
    }
  }
  execve(path.c_str(), a.data(), e.data());
  native_fail(&err, errno, "execve", "%s", path.c_str());
  throw_native(env, err);
  return env.Undefined();
}

}  // namespace

void reexec_register(Napi::Env env, Napi::Object exports) {
  exports.Set("execve", Napi::Function::New(env, Execve, "execve"));
}
