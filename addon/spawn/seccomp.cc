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
#include <linux/filter.h>
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
  int (*syscall_resolve_name_arch)(uint32_t arch_token, const char *name);
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
            sym(h, "seccomp_syscall_resolve_name_arch", &lib.syscall_resolve_name_arch, &err) &&
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

// ---- the -ENOSYS stub (runc's libcontainer/seccomp/patchbpf) ----
// An allow-list profile answers every syscall it does not name with its
// default action, EPERM usually; a syscall newer than the profile must get
// ENOSYS instead, or libc never falls back (clone3 -> clone, fchmodat2 ->
// fchmodat). So a short program is put in front of libseccomp's: per
// architecture of the filter, a syscall number above the highest one the
// profile names returns ENOSYS; anything else (and any other architecture,
// which the filter's bad-arch action handles) goes on to the filter.
const uint32_t AUDIT_X86_64 = 0xc000003eu;    // AUDIT_ARCH_X86_64
const uint32_t SCMP_X32 = 0x4000003eu;        // SCMP_ARCH_X32: x86_64 audit arch without the 64-bit bit
const uint32_t X32_SYSCALL_BIT = 0x40000000u;
const uint32_t AUDIT_S390 = 0x00000016u, AUDIT_S390X = 0x80000016u;
const uint32_t RET_ENOSYS = SECCOMP_RET_ERRNO | ENOSYS;

struct arch_bound {
  uint32_t audit;
  int64_t native = -1;  // highest syscall number named (x32 mode: the x32 one)
  int64_t x32 = -1;
};

// Jump targets while the stub is laid out: an index into the stub, or one of these.
const int T_NEXT = -1, T_ENOSYS = -2, T_FILTER = -3;
struct insn {
  uint16_t code;
  uint32_t k;
  int jt = T_NEXT, jf = T_NEXT;  // conditional jumps
  int ja = T_NEXT;               // BPF_JA target (in k)
};

std::vector<arch_bound> stub_bounds(libseccomp *l, const std::vector<uint32_t> &tokens, const std::vector<std::string> &names) {
  std::vector<arch_bound> out;
  for (uint32_t token : tokens) {
    bool x32 = token == SCMP_X32;
    int64_t most = -1;
    for (const std::string &n : names) {
      int nr = l->syscall_resolve_name_arch(token, n.c_str());
      if (nr < 0) continue;  // unknown here, or a multiplexed pseudo-syscall (negative)
      int64_t v = x32 ? (static_cast<uint32_t>(nr) | X32_SYSCALL_BIT) : nr;
      if (v > most) most = v;
    }
    if (most < 0) continue;  // nothing named for this arch: the filter decides alone
    uint32_t audit = x32 ? AUDIT_X86_64 : token;
    arch_bound *b = nullptr;
    for (arch_bound &e : out)
      if (e.audit == audit) b = &e;
    if (!b) {
      out.push_back(arch_bound{audit});
      b = &out.back();
    }
    int64_t &slot = x32 ? b->x32 : b->native;
    if (most > slot) slot = most;
  }
  return out;
}

// The stub as sock_filters, or "" + empty when there is nothing to bound; error text otherwise.
std::string build_stub(const std::vector<arch_bound> &bounds, std::vector<sock_filter> *outp) {
  if (bounds.empty()) return "";
  const uint16_t LD = BPF_LD | BPF_W | BPF_ABS, JEQ = BPF_JMP | BPF_JEQ | BPF_K, JGT = BPF_JMP | BPF_JGT | BPF_K,
                 JSET = BPF_JMP | BPF_JSET | BPF_K, JA = BPF_JMP | BPF_JA, RET = BPF_RET | BPF_K;
  const uint32_t OFF_NR = 0, OFF_ARCH = 4;  // struct seccomp_data
  std::vector<insn> p;
  p.push_back({LD, OFF_ARCH});
  std::vector<size_t> dispatch;
  for (size_t i = 0; i < bounds.size(); i++) {
    dispatch.push_back(p.size());
    p.push_back({JEQ, bounds[i].audit});
  }
  p.push_back({JA, 0, T_NEXT, T_NEXT, T_FILTER});
  for (size_t i = 0; i < bounds.size(); i++) {
    const arch_bound &b = bounds[i];
    p[dispatch[i]].jt = static_cast<int>(p.size());
    p.push_back({LD, OFF_NR});
    // s390: a syscall number the kernel does not know is left as 0 (setup(2), long gone), so 0 means ENOSYS.
    if (b.audit == AUDIT_S390 || b.audit == AUDIT_S390X) p.push_back({JEQ, 0, T_ENOSYS, T_NEXT});
    if (b.audit == AUDIT_X86_64) {
      if (b.native >= 0 && b.x32 >= 0) {
        size_t jset = p.size();
        p.push_back({JSET, X32_SYSCALL_BIT});
        p.push_back({JGT, static_cast<uint32_t>(b.native), T_ENOSYS, T_FILTER});
        p[jset].jt = static_cast<int>(p.size());
        p.push_back({JGT, static_cast<uint32_t>(b.x32), T_ENOSYS, T_FILTER});
      } else if (b.native >= 0) {
        p.push_back({JSET, X32_SYSCALL_BIT, T_FILTER, T_NEXT});
        p.push_back({JGT, static_cast<uint32_t>(b.native), T_ENOSYS, T_FILTER});
      } else {
        p.push_back({JSET, X32_SYSCALL_BIT, T_NEXT, T_FILTER});
        p.push_back({JGT, static_cast<uint32_t>(b.x32), T_ENOSYS, T_FILTER});
      }
    } else {
      p.push_back({JGT, static_cast<uint32_t>(b.native), T_ENOSYS, T_FILTER});
    }
  }
  p.push_back({RET, RET_ENOSYS});
  const int n = static_cast<int>(p.size());
  const int at_enosys = n - 1, at_filter = n;
  auto rel = [&](int from, int target, uint32_t *out) -> bool {
    int abs = target == T_NEXT ? from + 1 : target == T_ENOSYS ? at_enosys : target == T_FILTER ? at_filter : target;
    int off = abs - (from + 1);
    if (off < 0) return false;
    *out = static_cast<uint32_t>(off);
    return true;
  };
  outp->clear();
  for (int i = 0; i < n; i++) {
    sock_filter f{p[i].code, 0, 0, p[i].k};
    uint32_t jt = 0, jf = 0, ja = 0;
    if (p[i].code == JA) {
      if (!rel(i, p[i].ja, &ja)) return "bad jump";
      f.k = ja;
    } else if (BPF_CLASS(p[i].code) == BPF_JMP) {
      if (!rel(i, p[i].jt, &jt) || !rel(i, p[i].jf, &jf)) return "bad jump";
      if (jt > 255 || jf > 255) return "jump too long";  // a handful of architectures never gets near
      f.jt = static_cast<uint8_t>(jt);
      f.jf = static_cast<uint8_t>(jf);
    }
    outp->push_back(f);
  }
  return "";
}

// seccompCompile({defaultAction, archs: string[], optimize, rules: [{name, action, args: [{index, op, value, valueTwo}]}]})
//      enosys?: {names: string[]}}
//   -> {program: Buffer, skipped: string[], stubInstructions: number}
// archs are libseccomp names ("x86_64"); the native arch is always present
// (seccomp_init adds it). A syscall name libseccomp does not know is skipped
// and returned in `skipped`, as runc does. With `enosys`, the -ENOSYS stub
// bounded by those names is put in front of libseccomp's program.
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

  std::vector<uint32_t> tokens{l->arch_native()};
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
      bool seen = false;
      for (uint32_t t : tokens) seen = seen || t == token;
      if (!seen) tokens.push_back(token);
    }
  }

  std::vector<sock_filter> stub;
  Napi::Value enosys_v = req.Get("enosys");
  if (enosys_v.IsObject()) {
    Napi::Value names_v = enosys_v.As<Napi::Object>().Get("names");
    if (!names_v.IsArray()) return fail(env, "seccompCompile: enosys.names must be an array");
    Napi::Array na = names_v.As<Napi::Array>();
    std::vector<std::string> names;
    for (uint32_t i = 0; i < na.Length(); i++) names.push_back(na.Get(i).ToString().Utf8Value());
    std::string e = build_stub(stub_bounds(l, tokens, names), &stub);
    if (!e.empty()) return fail(env, "seccomp: -ENOSYS stub: " + e, EINVAL);
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
  if (!stub.empty()) {
    const char *sb = reinterpret_cast<const char *>(stub.data());
    buf.insert(buf.begin(), sb, sb + stub.size() * sizeof(sock_filter));
  }
  if (buf.size() / sizeof(sock_filter) > BPF_MAXINSNS)
    return fail(env, "seccomp: the filter has " + std::to_string(buf.size() / sizeof(sock_filter)) +
                         " instructions, more than the kernel's " + std::to_string(BPF_MAXINSNS), E2BIG);
  Napi::Object out = Napi::Object::New(env);
  out.Set("program", Napi::Buffer<char>::Copy(env, buf.data(), buf.size()));
  out.Set("skipped", skipped);
  out.Set("stubInstructions", Napi::Number::New(env, static_cast<double>(stub.size())));
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
