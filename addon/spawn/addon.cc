// Node-API exports of tsrun_addon. Argument checking and the conversion of a
// native_error into one JS Error happen here; the work is in spawn.cc/wait.cc.
#include <napi.h>

#include <sched.h>

#include "bpf.h"
#include "console.h"
#include "mountfd.h"
#include "native_error.h"
#include "reexec.h"
#include "seccomp.h"
#include "spawn.h"
#include "wait.h"

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

namespace {

Napi::Value type_error(Napi::Env env, const char *what) {
  Napi::TypeError::New(env, what).ThrowAsJavaScriptException();
  return env.Undefined();
}

// Reads an optional string property; false if present but not a string.
bool optional_string(const Napi::Object &o, const char *key, std::string *out) {
  Napi::Value v = o.Get(key);
  if (v.IsUndefined() || v.IsNull()) return true;
  if (!v.IsString()) return false;
  *out = v.As<Napi::String>().Utf8Value();
  return true;
}

Napi::Value SpawnInit(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsObject()) return type_error(env, "spawnInit: expected an options object");
  Napi::Object o = info[0].As<Napi::Object>();
  spawn_request req;
  if (!o.Get("initPath").IsString()) return type_error(env, "spawnInit: initPath must be a string");
  req.init_path = o.Get("initPath").As<Napi::String>().Utf8Value();
  if (!o.Get("cloneFlags").IsNumber()) return type_error(env, "spawnInit: cloneFlags must be a number");
  req.clone_flags = static_cast<unsigned long>(o.Get("cloneFlags").As<Napi::Number>().Int64Value());
  if (!o.Get("preserveFds").IsNumber()) return type_error(env, "spawnInit: preserveFds must be a number");
  req.preserve_fds = o.Get("preserveFds").As<Napi::Number>().Int32Value();
  if (!o.Get("cloneParent").IsBoolean()) return type_error(env, "spawnInit: cloneParent must be a boolean");
  req.clone_parent = o.Get("cloneParent").As<Napi::Boolean>().Value();
  Napi::Value boot = o.Get("bootstrap");
  if (!boot.IsUndefined()) {
    if (!boot.IsBuffer()) return type_error(env, "spawnInit: bootstrap must be a Buffer");
    auto b = boot.As<Napi::Buffer<char>>();
    req.bootstrap.assign(b.Data(), b.Length());
  }
  Napi::Value pass = o.Get("passFds");
  if (!pass.IsUndefined()) {
    if (!pass.IsArray()) return type_error(env, "spawnInit: passFds must be an array of fds");
    auto arr = pass.As<Napi::Array>();
    for (uint32_t i = 0; i < arr.Length(); i++) {
      Napi::Value v = arr.Get(i);
      if (!v.IsNumber()) return type_error(env, "spawnInit: passFds must be an array of fds");
      req.pass_fds.push_back(v.As<Napi::Number>().Int32Value());
    }
  }
  if (!optional_string(o, "intoCgroup", &req.cgroup_dir)) return type_error(env, "spawnInit: intoCgroup must be a string");
  if (!optional_string(o, "uidMap", &req.uid_map)) return type_error(env, "spawnInit: uidMap must be a string");
  if (!optional_string(o, "uidMapHelper", &req.uid_map_helper)) return type_error(env, "spawnInit: uidMapHelper must be a string");
  if (!optional_string(o, "gidMapHelper", &req.gid_map_helper)) return type_error(env, "spawnInit: gidMapHelper must be a string");
  if (!optional_string(o, "gidMap", &req.gid_map)) return type_error(env, "spawnInit: gidMap must be a string");
  Napi::Value deny = o.Get("setgroupsDeny");
  if (!deny.IsUndefined() && !deny.IsBoolean()) return type_error(env, "spawnInit: setgroupsDeny must be a boolean");
  req.setgroups_deny = deny.IsBoolean() && deny.As<Napi::Boolean>().Value();

  spawn_result res{};
  native_error err{};
  if (spawn_init(req, &res, &err) < 0) {
    throw_native(env, err);
    return env.Undefined();
  }
  Napi::Object out = Napi::Object::New(env);
  out.Set("pid", Napi::Number::New(env, res.pid));
  out.Set("pidfd", Napi::Number::New(env, res.pidfd));
  out.Set("syncFd", Napi::Number::New(env, res.sync_fd));
  out.Set("cloneParent", Napi::Boolean::New(env, res.clone_parent));
  out.Set("inCgroup", Napi::Boolean::New(env, res.in_cgroup));
  return out;
}

Napi::Value Mkfifo(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsString() || !info[1].IsNumber())
    return type_error(env, "mkfifo: expected (path: string, mode: number)");
  native_error err{};
  if (make_fifo(info[0].As<Napi::String>().Utf8Value(), info[1].As<Napi::Number>().Uint32Value(), &err) < 0)
    throw_native(env, err);
  return env.Undefined();
}

// Waits in the libuv pool so the event loop keeps running.
class WaitWorker : public Napi::AsyncWorker {
 public:
  WaitWorker(Napi::Env env, pid_t pid) : Napi::AsyncWorker(env), pid_(pid), deferred_(Napi::Promise::Deferred::New(env)) {}
  Napi::Promise promise() { return deferred_.Promise(); }
  void Execute() override { wait_pid(pid_, &result_, &err_); }
  void OnOK() override {
    Napi::Env env = Env();
    if (err_.err) {
      deferred_.Reject(native_error_js(env, err_).Value());
      return;
    }
    Napi::Object out = Napi::Object::New(env);
    out.Set("exitCode", result_.signal ? env.Null() : Napi::Number::New(env, result_.exit_code));
    out.Set("signal", result_.signal ? Napi::Number::New(env, result_.signal) : env.Null());
    deferred_.Resolve(out);
  }
 private:
  pid_t pid_;
  Napi::Promise::Deferred deferred_;
  wait_result result_{};
  native_error err_{};
};

Napi::Value WaitPid(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsNumber()) return type_error(env, "waitPid: expected (pid: number)");
  int pid = info[0].As<Napi::Number>().Int32Value();
  if (pid <= 0) return type_error(env, "waitPid: pid must be positive");
  auto *w = new WaitWorker(env, pid);
  Napi::Promise p = w->promise();
  w->Queue();
  return p;
}

// Console sockets (console.cc): unixListen(path) -> fd, unixAccept(fd, ms) -> fd,
// recvFds(fd, ms) -> {payload, fds, cmsgs, controlLen, cmsgSpaceOne, flags},
// setWinsize(fd, rows, cols).
Napi::Value UnixListen(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsString()) return type_error(env, "unixListen: expected (path: string)");
  native_error err{};
  int fd = unix_listen(info[0].As<Napi::String>().Utf8Value(), &err);
  if (fd < 0) { throw_native(env, err); return env.Undefined(); }
  return Napi::Number::New(env, fd);
}

Napi::Value UnixConnect(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsString()) return type_error(env, "unixConnect: expected (path: string)");
  native_error err{};
  int fd = unix_connect(info[0].As<Napi::String>().Utf8Value(), &err);
  if (fd < 0) { throw_native(env, err); return env.Undefined(); }
  return Napi::Number::New(env, fd);
}

Napi::Value UnixAccept(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsNumber() || !info[1].IsNumber()) return type_error(env, "unixAccept: expected (fd, timeoutMs)");
  native_error err{};
  int fd = unix_accept(info[0].As<Napi::Number>().Int32Value(), info[1].As<Napi::Number>().Int32Value(), &err);
  if (fd < 0) { throw_native(env, err); return env.Undefined(); }
  return Napi::Number::New(env, fd);
}

Napi::Value RecvFds(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsNumber() || !info[1].IsNumber()) return type_error(env, "recvFds: expected (fd, timeoutMs)");
  native_error err{};
  recv_result r;
  if (recv_fds(info[0].As<Napi::Number>().Int32Value(), info[1].As<Napi::Number>().Int32Value(), &r, &err) < 0) {
    throw_native(env, err);
    return env.Undefined();
  }
  Napi::Object out = Napi::Object::New(env);
  out.Set("payload", Napi::Buffer<char>::Copy(env, r.payload.data(), r.payload.size()));
  Napi::Array fds = Napi::Array::New(env, r.fds.size());
  for (size_t i = 0; i < r.fds.size(); i++) fds.Set(static_cast<uint32_t>(i), Napi::Number::New(env, r.fds[i]));
  out.Set("fds", fds);
  out.Set("cmsgs", Napi::Number::New(env, r.cmsgs));
  out.Set("controlLen", Napi::Number::New(env, static_cast<double>(r.control_len)));
  out.Set("cmsgSpaceOne", Napi::Number::New(env, static_cast<double>(r.cmsg_space_one)));
  out.Set("flags", Napi::Number::New(env, r.flags));
  return out;
}

Napi::Value SetWinsize(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  if (info.Length() < 3 || !info[0].IsNumber() || !info[1].IsNumber() || !info[2].IsNumber())
    return type_error(env, "setWinsize: expected (fd, rows, cols)");
  native_error err{};
  if (set_winsize(info[0].As<Napi::Number>().Int32Value(), info[1].As<Napi::Number>().Uint32Value(),
                  info[2].As<Napi::Number>().Uint32Value(), &err) < 0)
    throw_native(env, err);
  return env.Undefined();
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("spawnInit", Napi::Function::New(env, SpawnInit, "spawnInit"));
  exports.Set("mkfifo", Napi::Function::New(env, Mkfifo, "mkfifo"));
  exports.Set("waitPid", Napi::Function::New(env, WaitPid, "waitPid"));
  seccomp_register(env, exports);
  bpf_register(env, exports);
  mountfd_register(env, exports);
  reexec_register(env, exports);
  exports.Set("unixListen", Napi::Function::New(env, UnixListen, "unixListen"));
  exports.Set("unixConnect", Napi::Function::New(env, UnixConnect, "unixConnect"));
  exports.Set("unixAccept", Napi::Function::New(env, UnixAccept, "unixAccept"));
  exports.Set("recvFds", Napi::Function::New(env, RecvFds, "recvFds"));
  exports.Set("setWinsize", Napi::Function::New(env, SetWinsize, "setWinsize"));
  const struct { const char *name; unsigned value; } flags[] = {
      {"CLONE_NEWNS", CLONE_NEWNS},     {"CLONE_NEWUTS", CLONE_NEWUTS},       {"CLONE_NEWIPC", CLONE_NEWIPC},
      {"CLONE_NEWPID", CLONE_NEWPID},   {"CLONE_NEWNET", CLONE_NEWNET},       {"CLONE_NEWUSER", CLONE_NEWUSER},
      {"CLONE_NEWCGROUP", CLONE_NEWCGROUP}, {"CLONE_NEWTIME", CLONE_NEWTIME},
  };
  for (const auto &f : flags) exports.Set(f.name, Napi::Number::New(env, f.value));
  return exports;
}

}  // namespace

NODE_API_MODULE(tsrun_addon, Init)
