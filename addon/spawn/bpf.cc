// cgroup v2 device control (runc: libcontainer/cgroups/ebpf). TypeScript
// builds the instructions (src/cgroups/bpf.ts); here they are loaded as a
// BPF_PROG_TYPE_CGROUP_DEVICE program and attached to a cgroup directory with
// BPF_F_ALLOW_MULTI. Programs that were attached to that cgroup before are
// detached once the new one is in place, so there is never a window without
// a filter. Errors carry errno and the failing bpf command; a program the
// verifier rejects is loaded a second time with a log, whose last lines end
// up in the message.
#include "bpf.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <string>
#include <vector>

namespace {

long sys_bpf(int cmd, union bpf_attr *attr) { return syscall(SYS_bpf, cmd, attr, sizeof(*attr)); }

Napi::Value fail(Napi::Env env, const std::string &what, int err) {
  Napi::Error e = Napi::Error::New(env, what + ": " + strerror(err));
  e.Set("errno", Napi::Number::New(env, err));
  e.Set("syscall", Napi::String::New(env, "bpf"));
  e.ThrowAsJavaScriptException();
  return env.Undefined();
}

struct fd_guard {
  int fd = -1;
  ~fd_guard() {
    if (fd >= 0) close(fd);
  }
};

// Ids and attach flags of the BPF_CGROUP_DEVICE programs on a cgroup (effective = false: only its own).
int query(int cgfd, std::vector<uint32_t> *ids, uint32_t *flags) {
  std::vector<uint32_t> buf(64);
  for (;;) {
    union bpf_attr attr;
    memset(&attr, 0, sizeof(attr));
    attr.query.target_fd = cgfd;
    attr.query.attach_type = BPF_CGROUP_DEVICE;
    attr.query.prog_ids = reinterpret_cast<uintptr_t>(buf.data());
    attr.query.prog_cnt = buf.size();
    if (sys_bpf(BPF_PROG_QUERY, &attr) == 0) {
      buf.resize(attr.query.prog_cnt);
      *ids = buf;
      *flags = attr.query.attach_flags;
      return 0;
    }
    if (errno == ENOSPC && buf.size() < 4096) {
      buf.resize(buf.size() * 4);
      continue;
    }
    return -1;
  }
}

int open_cgroup(const std::string &dir) { return open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC); }

// bpfDeviceAttach(cgroupDir: string, insns: Buffer, license: string) → { progId, detached }
Napi::Value Attach(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  if (info.Length() < 3 || !info[0].IsString() || !info[1].IsBuffer() || !info[2].IsString()) {
    Napi::TypeError::New(env, "bpfDeviceAttach: expected (cgroupDir: string, insns: Buffer, license: string)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  std::string dir = info[0].As<Napi::String>().Utf8Value();
  Napi::Buffer<uint8_t> insns = info[1].As<Napi::Buffer<uint8_t>>();
  std::string license = info[2].As<Napi::String>().Utf8Value();
  if (insns.Length() == 0 || insns.Length() % sizeof(struct bpf_insn) != 0) {
    Napi::TypeError::New(env, "bpfDeviceAttach: insns must be a non-empty array of 8-byte bpf_insn").ThrowAsJavaScriptException();
    return env.Undefined();
  }

  fd_guard cg;
  cg.fd = open_cgroup(dir);
  if (cg.fd < 0) return fail(env, "open cgroup " + dir, errno);

  std::vector<uint32_t> old;
  uint32_t old_flags = 0;
  if (query(cg.fd, &old, &old_flags) < 0) return fail(env, "BPF_PROG_QUERY (BPF_CGROUP_DEVICE) on " + dir, errno);

  union bpf_attr attr;
  memset(&attr, 0, sizeof(attr));
  attr.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
  attr.insns = reinterpret_cast<uintptr_t>(insns.Data());
  attr.insn_cnt = insns.Length() / sizeof(struct bpf_insn);
  attr.license = reinterpret_cast<uintptr_t>(license.c_str());
  strncpy(attr.prog_name, "tsrun_devices", sizeof(attr.prog_name) - 1);
  fd_guard prog;
  prog.fd = static_cast<int>(sys_bpf(BPF_PROG_LOAD, &attr));
  if (prog.fd < 0) {
    int err = errno;
    std::string msg = "BPF_PROG_LOAD (BPF_PROG_TYPE_CGROUP_DEVICE, " + std::to_string(attr.insn_cnt) + " instructions)";
    if (err == EINVAL || err == EACCES) {
      // Again with the verifier's log, for the message.
      std::vector<char> log(1 << 16);
      attr.log_level = 1;
      attr.log_buf = reinterpret_cast<uintptr_t>(log.data());
      attr.log_size = log.size();
      int fd = static_cast<int>(sys_bpf(BPF_PROG_LOAD, &attr));
      if (fd >= 0) close(fd);
      std::string text(log.data());
      while (!text.empty() && text.back() == '\n') text.pop_back();
      if (!text.empty()) msg += " (verifier: " + (text.size() > 300 ? "..." + text.substr(text.size() - 300) : text) + ")";
    }
    return fail(env, msg, err);
  }

  memset(&attr, 0, sizeof(attr));
  attr.target_fd = cg.fd;
  attr.attach_bpf_fd = prog.fd;
  attr.attach_type = BPF_CGROUP_DEVICE;
  attr.attach_flags = BPF_F_ALLOW_MULTI;
  if (sys_bpf(BPF_PROG_ATTACH, &attr) < 0) {
    int err = errno;
    std::string why = err == EPERM && !old.empty() && !(old_flags & BPF_F_ALLOW_MULTI) ? " (a program attached without BPF_F_ALLOW_MULTI is already there)" : "";
    return fail(env, "BPF_PROG_ATTACH (BPF_CGROUP_DEVICE, BPF_F_ALLOW_MULTI) to " + dir + why, err);
  }

  // The id of the program just loaded.
  struct bpf_prog_info pinfo;
  memset(&pinfo, 0, sizeof(pinfo));
  memset(&attr, 0, sizeof(attr));
  attr.info.bpf_fd = prog.fd;
  attr.info.info_len = sizeof(pinfo);
  attr.info.info = reinterpret_cast<uintptr_t>(&pinfo);
  uint32_t prog_id = sys_bpf(BPF_OBJ_GET_INFO_BY_FD, &attr) == 0 ? pinfo.id : 0;

  // Now that the new filter is in place, the old ones go.
  uint32_t detached = 0;
  for (uint32_t id : old) {
    if (id == prog_id) continue;
    memset(&attr, 0, sizeof(attr));
    attr.prog_id = id;
    fd_guard oldfd;
    oldfd.fd = static_cast<int>(sys_bpf(BPF_PROG_GET_FD_BY_ID, &attr));
    if (oldfd.fd < 0) {
      if (errno == ENOENT) continue;  // gone meanwhile
      return fail(env, "BPF_PROG_GET_FD_BY_ID " + std::to_string(id) + " (replacing the device filter of " + dir + ")", errno);
    }
    memset(&attr, 0, sizeof(attr));
    attr.target_fd = cg.fd;
    attr.attach_bpf_fd = oldfd.fd;
    attr.attach_type = BPF_CGROUP_DEVICE;
    if (sys_bpf(BPF_PROG_DETACH, &attr) < 0) {
      if (errno == ENOENT) continue;
      return fail(env, "BPF_PROG_DETACH old device filter " + std::to_string(id) + " from " + dir, errno);
    }
    detached++;
  }

  Napi::Object out = Napi::Object::New(env);
  out.Set("progId", Napi::Number::New(env, prog_id));
  out.Set("detached", Napi::Number::New(env, detached));
  return out;
}

// bpfDeviceQuery(cgroupDir: string) → { ids: number[], flags: number }
Napi::Value Query(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsString()) {
    Napi::TypeError::New(env, "bpfDeviceQuery: expected (cgroupDir: string)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  std::string dir = info[0].As<Napi::String>().Utf8Value();
  fd_guard cg;
  cg.fd = open_cgroup(dir);
  if (cg.fd < 0) return fail(env, "open cgroup " + dir, errno);
  std::vector<uint32_t> ids;
  uint32_t flags = 0;
  if (query(cg.fd, &ids, &flags) < 0) return fail(env, "BPF_PROG_QUERY (BPF_CGROUP_DEVICE) on " + dir, errno);
  Napi::Array arr = Napi::Array::New(env, ids.size());
  for (size_t i = 0; i < ids.size(); i++) arr.Set(i, Napi::Number::New(env, ids[i]));
  Napi::Object out = Napi::Object::New(env);
  out.Set("ids", arr);
  out.Set("flags", Napi::Number::New(env, flags));
  return out;
}

}  // namespace

void bpf_register(Napi::Env env, Napi::Object exports) {
  exports.Set("bpfDeviceAttach", Napi::Function::New(env, Attach, "bpfDeviceAttach"));
  exports.Set("bpfDeviceQuery", Napi::Function::New(env, Query, "bpfDeviceQuery"));
}
