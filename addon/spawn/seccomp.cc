// linux.seccomp, parent side: libseccomp compiles the profile to classic BPF
// here, once per create, before the clone; the sealed helper only loads the
// bytes (addon/init/seccomp.c). libseccomp is dlopen'd: the build needs no
// seccomp.h, and a host without libseccomp.so.2 fails only when a profile is
// actually given. The handful of prototypes and constants used are declared
// below from libseccomp's documented, stable ABI (seccomp_init(3),
// seccomp_rule_add(3), seccomp_export_bpf(3), seccomp_attr_set(3)).
#include "seccomp.h"

#include <dlfcn.h>
#include <errno.h>
#include <linux/seccomp.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <string>
#include <vector>

namespace {

// ---- libseccomp ABI (libseccomp >= 2.5) ----
typedef void *scmp_filter_ctx;
struct scmp_arg_cmp {
  unsigned int arg;
  int op;  // enum scmp_compare: NE=1 LT=2 LE=3 EQ=4 GE=5 GT=6 MASKED_EQ=7
  uint64_t datum_a;
  uint64_t datum_b;
};
struct scmp_version {
  unsigned int major, minor, micro;
};
const int SCMP_FLTATR_CTL_OPTIMIZE = 8;
const int NR_SCMP_ERROR = -1;

struct libseccomp {
  void *handle = nullptr;
  std::string error;  // dlopen/dlsym failure, "" when loaded
  scmp_filter_ctx (*init)(uint32_t def_action);
  void (*release)(scmp_filter_ctx ctx);
  int (*arch_add)(scmp_filter_ctx ctx, uint32_t arch_token);
  uint32_t (*arch_resolve_name)(const char *name);
  uint32_t (*arch_native)(void);
  int (*syscall_resolve_name)(const char *name);
  int (*rule_add_array)(scmp_filter_ctx ctx, uint32_t action, int syscall, unsigned int arg_cnt, const scmp_arg_cmp *args);
  int (*export_bpf)(scmp_filter_ctx ctx, int fd);
  int (*attr_set)(scmp_filter_ctx ctx, int attr, uint32_t value);
  const scmp_version *(*version)(void);
  unsigned int (*api_get)(void);
};

libseccomp lib;
bool lib_tried = false;

template <typename T>
bool sym(void *h, const char *name, T *out, std::string *err) {
  void *p = dlsym(h, name);
  if (!p) {
    *err = std::string("libseccomp.so.2 has no ") + name;
    return false;
  }
  *out = reinterpret_cast<T>(p);
  return true;
}

// Loads libseccomp once; returns nullptr (with lib.error set) if it cannot.
libseccomp *load() {
  if (lib_tried) return lib.handle ? &lib : nullptr;
  lib_tried = true;
  void *h = dlopen("libseccomp.so.2", RTLD_NOW | RTLD_LOCAL);
  if (!h) {
    const char *e = dlerror();
    lib.error = std::string("cannot load libseccomp.so.2 (install libseccomp2): ") + (e ? e : "unknown error");
    return nullptr;
  }
  std::string err;
  bool ok = sym(h, "seccomp_init", &lib.init, &err) && sym(h, "seccomp_release", &lib.release, &err) &&
            sym(h, "seccomp_arch_add", &lib.arch_add, &err) &&
            sym(h, "seccomp_arch_resolve_name", &lib.arch_resolve_name, &err) &&
            sym(h, "seccomp_arch_native", &lib.arch_native, &err) &&
            sym(h, "seccomp_syscall_resolve_name", &lib.syscall_resolve_name, &err) &&
            sym(h, "seccomp_rule_add_array", &lib.rule_add_array, &err) &&
            sym(h, "seccomp_export_bpf", &lib.export_bpf, &err) && sym(h, "seccomp_attr_set", &lib.attr_set, &err) &&
            sym(h, "seccomp_version", &lib.version, &err) && sym(h, "seccomp_api_get", &lib.api_get, &err);
  if (!ok) {
    lib.error = err;
    dlclose(h);
    return nullptr;
  }
  lib.handle = h;
  return &lib;
}

Napi::Value fail(Napi::Env env, const std::string &msg, int err = 0) {
  Napi::Error e = Napi::Error::New(env, msg);
  if (err) e.Set("errno", Napi::Number::New(env, err));
  e.Set("syscall", Napi::String::New(env, "seccomp"));
  e.ThrowAsJavaScriptException();
  return env.Undefined();
}

bool to_u64(const Napi::Value &v, uint64_t *out) {
  if (v.IsBigInt()) {
    bool lossless = false;
    *out = v.As<Napi::BigInt>().Uint64Value(&lossless);
    return lossless;
  }
  if (v.IsNumber()) {
    double d = v.As<Napi::Number>().DoubleValue();
    if (d < 0 || d > 18446744073709551615.0) return false;
    *out = static_cast<uint64_t>(d);
    return true;
  }
  return false;
}

std::string hex32(uint32_t v) {
  char b[16];
  snprintf(b, sizeof b, "0x%08x", v);
  return b;
}

struct ctx_guard {
  libseccomp *l;
  scmp_filter_ctx ctx;
  ~ctx_guard() {
    if (ctx) l->release(ctx);
  }
};

// seccompCompile({defaultAction, archs: string[], optimize, rules: [{name, action, args: [{index, op, value, valueTwo}]}]})
//   -> {program: Buffer, skipped: string[]}
// archs are libseccomp names ("x86_64"); the native arch is always present
// (seccomp_init adds it). A syscall name libseccomp does not know is skipped
// and returned in `skipped`, as runc does.
Napi::Value Compile(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  libseccomp *l = load();
  if (!l) return fail(env, "seccomp: " + lib.error, ENOSYS);
  if (info.Length() < 1 || !info[0].IsObject()) return fail(env, "seccompCompile: expected an object");
  Napi::Object req = info[0].As<Napi::Object>();
  if (!req.Get("defaultAction").IsNumber()) return fail(env, "seccompCompile: defaultAction must be a number");
  uint32_t def = req.Get("defaultAction").As<Napi::Number>().Uint32Value();

  ctx_guard g{l, l->init(def)};
  if (!g.ctx) return fail(env, "seccomp: seccomp_init with default action " + hex32(def) + " failed (action not supported by libseccomp or the kernel?)", EINVAL);

  Napi::Value optimize = req.Get("optimize");
  if (optimize.IsNumber()) {
    uint32_t level = optimize.As<Napi::Number>().Uint32Value();
    // Best effort: a binary tree of syscalls needs libseccomp >= 2.5.
    if (level) l->attr_set(g.ctx, SCMP_FLTATR_CTL_OPTIMIZE, level);
  }

  Napi::Value archs_v = req.Get("archs");
  if (archs_v.IsArray()) {
    Napi::Array archs = archs_v.As<Napi::Array>();
    for (uint32_t i = 0; i < archs.Length(); i++) {
      std::string name = archs.Get(i).ToString().Utf8Value();
      uint32_t token = l->arch_resolve_name(name.c_str());
      if (!token) return fail(env, "seccomp: architecture \"" + name + "\" is not supported by this libseccomp", EINVAL);
      int r = l->arch_add(g.ctx, token);
      if (r < 0 && r != -EEXIST)
        return fail(env, "seccomp: add architecture \"" + name + "\": " + strerror(-r), -r);
    }
  }

  Napi::Array skipped = Napi::Array::New(env);
  uint32_t nskipped = 0;
  Napi::Value rules_v = req.Get("rules");
  if (!rules_v.IsArray()) return fail(env, "seccompCompile: rules must be an array");
  Napi::Array rules = rules_v.As<Napi::Array>();
  std::vector<scmp_arg_cmp> conds;
  for (uint32_t i = 0; i < rules.Length(); i++) {
    Napi::Value rv = rules.Get(i);
    if (!rv.IsObject()) return fail(env, "seccompCompile: rule is not an object");
    Napi::Object r = rv.As<Napi::Object>();
    if (!r.Get("name").IsString() || !r.Get("action").IsNumber())
      return fail(env, "seccompCompile: rule needs name (string) and action (number)");
    std::string name = r.Get("name").As<Napi::String>().Utf8Value();
    uint32_t action = r.Get("action").As<Napi::Number>().Uint32Value();
    int nr = l->syscall_resolve_name(name.c_str());
    if (nr == NR_SCMP_ERROR) {
      skipped.Set(nskipped++, Napi::String::New(env, name));
      continue;
    }
    conds.clear();
    Napi::Value args_v = r.Get("args");
    if (args_v.IsArray()) {
      Napi::Array args = args_v.As<Napi::Array>();
      for (uint32_t j = 0; j < args.Length(); j++) {
        Napi::Object a = args.Get(j).As<Napi::Object>();
        scmp_arg_cmp c{};
        c.arg = a.Get("index").As<Napi::Number>().Uint32Value();
        c.op = a.Get("op").As<Napi::Number>().Int32Value();
        if (!to_u64(a.Get("value"), &c.datum_a) || !to_u64(a.Get("valueTwo"), &c.datum_b))
          return fail(env, "seccomp: syscall \"" + name + "\": argument values must be unsigned 64-bit integers", EINVAL);
        conds.push_back(c);
      }
    }
    int rc = l->rule_add_array(g.ctx, action, nr, static_cast<unsigned>(conds.size()), conds.empty() ? nullptr : conds.data());
    if (rc < 0)
      return fail(env, "seccomp: add rule for syscall \"" + name + "\" (action " + hex32(action) + ", " +
                           std::to_string(conds.size()) + " argument conditions): " + strerror(-rc), -rc);
  }

  // Export to a memfd and read the sock_filter array back.
  int fd = static_cast<int>(syscall(SYS_memfd_create, "tsrun-seccomp-bpf", MFD_CLOEXEC));
  if (fd < 0) return fail(env, std::string("seccomp: memfd_create: ") + strerror(errno), errno);
  int rc = l->export_bpf(g.ctx, fd);
  if (rc < 0) {
    close(fd);
    return fail(env, std::string("seccomp: export BPF: ") + strerror(-rc), -rc);
  }
  struct stat st;
  if (fstat(fd, &st) < 0) {
    int e = errno;
    close(fd);
    return fail(env, std::string("seccomp: fstat BPF memfd: ") + strerror(e), e);
  }
  std::vector<char> buf(static_cast<size_t>(st.st_size));
  size_t got = 0;
  while (got < buf.size()) {
    ssize_t n = pread(fd, buf.data() + got, buf.size() - got, static_cast<off_t>(got));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      int e = n < 0 ? errno : EIO;
      close(fd);
      return fail(env, std::string("seccomp: read BPF back: ") + strerror(e), e);
    }
    got += static_cast<size_t>(n);
  }
  close(fd);
  Napi::Object out = Napi::Object::New(env);
  out.Set("program", Napi::Buffer<char>::Copy(env, buf.data(), buf.size()));
  out.Set("skipped", skipped);
  return out;
}

long sys_seccomp(unsigned op, unsigned flags, void *arg) { return syscall(SYS_seccomp, op, flags, arg); }

// seccompProbe({actions: {name: value}, flags: {name: bit}, archs: string[]})
//   -> {library: string|null, error?: string, apiLevel, nativeArch: number,
//       actions: string[] (kernel-available), flags: string[] (kernel-supported),
//       archs: string[] (libseccomp-known)}
// Actions: seccomp(SECCOMP_GET_ACTION_AVAIL). Flags: seccomp(SET_MODE_FILTER,
// flag, NULL) fails with EFAULT when the flag itself is accepted (libseccomp's
// and runc's probe); nothing is ever loaded.
Napi::Value Probe(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsObject()) return fail(env, "seccompProbe: expected an object");
  Napi::Object req = info[0].As<Napi::Object>();
  Napi::Object out = Napi::Object::New(env);
  libseccomp *l = load();
  if (l) {
    const scmp_version *v = l->version();
    out.Set("library", Napi::String::New(env, std::to_string(v->major) + "." + std::to_string(v->minor) + "." +
                                                  std::to_string(v->micro)));
    out.Set("apiLevel", Napi::Number::New(env, l->api_get()));
    out.Set("nativeArch", Napi::Number::New(env, l->arch_native()));
  } else {
    out.Set("library", env.Null());
    out.Set("error", Napi::String::New(env, lib.error));
    out.Set("apiLevel", Napi::Number::New(env, 0));
    out.Set("nativeArch", Napi::Number::New(env, 0));
  }

  Napi::Array actions = Napi::Array::New(env);
  uint32_t na = 0;
  if (req.Get("actions").IsObject()) {
    Napi::Object a = req.Get("actions").As<Napi::Object>();
    Napi::Array keys = a.GetPropertyNames();
    for (uint32_t i = 0; i < keys.Length(); i++) {
      Napi::Value k = keys.Get(i);
      uint32_t action = a.Get(k).As<Napi::Number>().Uint32Value();
      if (sys_seccomp(SECCOMP_GET_ACTION_AVAIL, 0, &action) == 0) actions.Set(na++, k);
    }
  }
  out.Set("actions", actions);

  Napi::Array flags = Napi::Array::New(env);
  uint32_t nf = 0;
  if (req.Get("flags").IsObject()) {
    Napi::Object f = req.Get("flags").As<Napi::Object>();
    Napi::Array keys = f.GetPropertyNames();
    for (uint32_t i = 0; i < keys.Length(); i++) {
      Napi::Value k = keys.Get(i);
      unsigned bit = f.Get(k).As<Napi::Number>().Uint32Value();
      // WAIT_KILLABLE_RECV is only valid together with NEW_LISTENER.
      unsigned probe = bit == 32 /* SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV */ ? bit | 8 /* NEW_LISTENER */ : bit;
      if (sys_seccomp(SECCOMP_SET_MODE_FILTER, probe, nullptr) < 0 && errno == EFAULT) flags.Set(nf++, k);
    }
  }
  out.Set("flags", flags);

  Napi::Array archs = Napi::Array::New(env);
  uint32_t nr = 0;
  if (l && req.Get("archs").IsArray()) {
    Napi::Array names = req.Get("archs").As<Napi::Array>();
    for (uint32_t i = 0; i < names.Length(); i++) {
      std::string n = names.Get(i).ToString().Utf8Value();
      if (l->arch_resolve_name(n.c_str())) archs.Set(nr++, Napi::String::New(env, n));
    }
  }
  out.Set("archs", archs);
  return out;
}

}  // namespace

void seccomp_register(Napi::Env env, Napi::Object exports) {
  exports.Set("seccompCompile", Napi::Function::New(env, Compile, "seccompCompile"));
  exports.Set("seccompProbe", Napi::Function::New(env, Probe, "seccompProbe"));
}
