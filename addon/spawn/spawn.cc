// memfd + clone: starts the sealed tsrun-init helper in new namespaces.
//
// The parent prepares everything (sealed memfd, socketpair, argv/envp, the fd
// number the helper will find its socket on). The clone child is a fork-like
// copy of one Node thread: other threads may hold malloc/stdio locks, so it
// only issues raw syscalls until execveat (native-spawn.md pitfall G).
#include "spawn.h"

#include <cerrno>
#include <climits>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <sched.h>
#include <spawn.h>
#include <string>
#include <vector>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "plan_wire.h"

#ifndef MFD_EXEC
#define MFD_EXEC 0x0010U
#endif
#ifndef F_SEAL_EXEC
#define F_SEAL_EXEC 0x0020
#endif
#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif
#ifndef SYS_clone3
#define SYS_clone3 435
#endif
#define TSRUN_CLONE_INTO_CGROUP 0x200000000ULL

namespace {

// Closes an fd when it goes out of scope (parent side only).
class Fd {
 public:
  explicit Fd(int fd = -1) : fd_(fd) {}
  ~Fd() { reset(); }
  Fd(const Fd &) = delete;
  Fd &operator=(const Fd &) = delete;
  int get() const { return fd_; }
  int release() { int f = fd_; fd_ = -1; return f; }
  void reset(int fd = -1) { if (fd_ >= 0) close(fd_); fd_ = fd; }
 private:
  int fd_;
};

// Copies the helper into a sealed memfd so that nothing in the container can
// ever reach a writable runtime binary (CVE-2019-5736).
int sealed_copy(const std::string &path, Fd *out, native_error *err) {
  Fd src(open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (src.get() < 0) return native_fail(err, errno, "open", "init helper %s", path.c_str());
  struct stat st;
  if (fstat(src.get(), &st) < 0) return native_fail(err, errno, "fstat", "init helper %s", path.c_str());
  if (!S_ISREG(st.st_mode)) return native_fail(err, ENOEXEC, "open", "init helper %s is not a regular file", path.c_str());

  // MFD_EXEC (6.3+) states the intent explicitly; older kernels reject it.
  Fd mem(memfd_create("tsrun-init", MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_EXEC));
  if (mem.get() < 0 && errno == EINVAL) mem.reset(memfd_create("tsrun-init", MFD_CLOEXEC | MFD_ALLOW_SEALING));
  if (mem.get() < 0) return native_fail(err, errno, "memfd_create", "tsrun-init");

  char buf[65536];
  for (;;) {
    ssize_t n = read(src.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return native_fail(err, errno, "read", "init helper %s", path.c_str());
    if (n == 0) break;
    for (ssize_t off = 0; off < n;) {
      ssize_t w = write(mem.get(), buf + off, n - off);
      if (w < 0 && errno == EINTR) continue;
      if (w < 0) return native_fail(err, errno, "write", "memfd tsrun-init");
      off += w;
    }
  }
  int seals = F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE;
  if (fcntl(mem.get(), F_ADD_SEALS, seals | F_SEAL_EXEC) < 0 &&
      (errno != EINVAL || fcntl(mem.get(), F_ADD_SEALS, seals) < 0))
    return native_fail(err, errno, "fcntl", "F_ADD_SEALS on memfd tsrun-init");
  out->reset(mem.release());
  return 0;
}

// Everything the clone child reads; lives on the parent's stack, which the
// child sees as its own copy-on-write copy.
struct child_args {
  int memfd;
  int sock;          // child end of the socketpair (CLOEXEC)
  int parent_sock;   // parent end: closed first, so the child sees EOF if the parent dies
  int target;        // fd number the helper expects (pre-formatted in argv[1])
  int preserve_fds;
  bool userns;       // wait for the parent to write the id maps
  char *const *argv;
  char *const *envp;
};

// The kernel's struct sigaction for rt_sigaction (glibc's differs and its
// wrapper refuses glibc-internal signals 32 and 33).
struct kernel_sigaction {
  void (*handler)(int);
  unsigned long flags;
  void (*restorer)(void);
  uint64_t mask;
};

size_t put_str(char *p, size_t off, size_t cap, const char *s) {
  while (*s && off < cap) p[off++] = *s++;
  return off;
}

size_t put_uint(char *p, size_t off, size_t cap, unsigned v) {
  char tmp[12];
  int n = 0;
  do { tmp[n++] = static_cast<char>('0' + v % 10); v /= 10; } while (v && n < 12);
  while (n && off < cap) p[off++] = tmp[--n];
  return off;
}

// Sends MSG_ERROR built on the stack (no malloc) and exits the child.
[[noreturn]] void child_fail(int sock, int err, const char *what) {
  char frame[8 + 4 + 200];
  size_t cap = sizeof frame, off = 12;
  off = put_str(frame, off, cap, what);
  off = put_str(frame, off, cap, ": errno ");
  off = put_uint(frame, off, cap, static_cast<unsigned>(err));
  const char *name = strerrorname_np(err);  // a static table lookup: safe here
  if (name) {
    off = put_str(frame, off, cap, " (");
    off = put_str(frame, off, cap, name);
    off = put_str(frame, off, cap, ")");
  }
  uint32_t type = MSG_ERROR, len = static_cast<uint32_t>(off - 8);
  int32_t e = err;
  memcpy(frame, &type, 4);
  memcpy(frame + 4, &len, 4);
  memcpy(frame + 8, &e, 4);
  for (size_t done = 0; done < off;) {
    ssize_t w = write(sock, frame + done, off - done);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) break;
    done += static_cast<size_t>(w);
  }
  syscall(SYS_exit_group, 1);
  __builtin_unreachable();
}

// In a new user namespace our host credentials are unmapped, and execve
// would drop every capability. Wait until the parent wrote the maps ('m') or
// decided not to ('n'), then become uid/gid 0 of the namespace. Raw syscalls:
// glibc's setresuid would try to signal the (absent) other Node threads.
void become_userns_root(int sock) {
  char c = 0;
  ssize_t n;
  do n = read(sock, &c, 1);
  while (n < 0 && errno == EINTR);
  if (n != 1) syscall(SYS_exit_group, 1);  // parent gave up; it reports why
  if (c != 'm') return;
  if (syscall(SYS_setresgid, 0, 0, 0) < 0) child_fail(sock, errno, "setresgid 0 in user namespace");
  if (syscall(SYS_setresuid, 0, 0, 0) < 0) child_fail(sock, errno, "setresuid 0 in user namespace");
}

[[noreturn]] __attribute__((noinline)) void child_main(const child_args *a) {
  // Our copy of the parent's end would keep the socket open after the parent
  // died (SIGKILLed during create), and a child waiting for the id maps or
  // its plan would wait forever.
  close(a->parent_sock);
  // Node's handlers and its ignored SIGPIPE/SIGXFSZ must not reach the
  // container. The mask stays fully blocked until the helper's final exec.
  struct kernel_sigaction dfl = {SIG_DFL, 0, nullptr, 0};
  for (int sig = 1; sig <= 64; sig++) {
    if (sig == SIGKILL || sig == SIGSTOP) continue;
    syscall(SYS_rt_sigaction, sig, &dfl, nullptr, sizeof dfl.mask);
  }
  // Node marks stdio CLOEXEC (pitfall A); preserved fds must survive too.
  for (int fd = 0; fd < 3 + a->preserve_fds; fd++) fcntl(fd, F_SETFD, 0);
  // libuv may have made a shared stdio pipe non-blocking.
  for (int fd = 0; fd < 3; fd++) {
    int fl = fcntl(fd, F_GETFL);
    if (fl >= 0 && (fl & O_NONBLOCK)) fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
  }
  if (a->sock != a->target) {
    if (dup2(a->sock, a->target) < 0) child_fail(a->sock, errno, "dup2 sync socket");
  } else if (fcntl(a->target, F_SETFD, 0) < 0) {
    child_fail(a->sock, errno, "fcntl sync socket");
  }
  if (a->userns) become_userns_root(a->target);
  syscall(SYS_execveat, a->memfd, "", a->argv, a->envp, AT_EMPTY_PATH);
  child_fail(a->target, errno, "execveat tsrun-init");
}

// Joins the pid/time namespace for children of this thread and restores the
// original one afterwards. Only pid_for_children/time_for_children change,
// so Node itself is unaffected.
class NsJoin {
 public:
  int join(const std::string &path, const char *self_ns, int type, native_error *err) {
    Fd target(open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (target.get() < 0) return native_fail(err, errno, "open", "namespace %s", path.c_str());
    char own[64];
    snprintf(own, sizeof own, "/proc/thread-self/ns/%s", self_ns);
    saved_.reset(open(own, O_RDONLY | O_CLOEXEC));
    if (saved_.get() < 0) return native_fail(err, errno, "open", "%s", own);
    if (setns(target.get(), type) < 0) {
      int e = errno;
      saved_.reset();
      if (e == EUSERS)  // timens_install refuses multi-threaded callers
        return native_fail(err, e, "setns", "%s (Node is multi-threaded; join it with OP_SETNS \"time\" instead)", path.c_str());
      return native_fail(err, e, "setns", "%s", path.c_str());
    }
    type_ = type;
    return 0;
  }
  ~NsJoin() {
    // Failing to restore would put later children in the wrong namespace;
    // nothing sensible can be reported from a destructor, so abort loudly.
    if (saved_.get() >= 0 && setns(saved_.get(), type_) < 0) {
      fprintf(stderr, "tsrun: cannot restore namespace: %s\n", strerror(errno));
      abort();
    }
  }
 private:
  Fd saved_;
  int type_ = 0;
};

int write_proc(pid_t pid, const char *file, const std::string &data, native_error *err) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/%s", static_cast<int>(pid), file);
  Fd fd(open(path, O_WRONLY | O_CLOEXEC));
  if (fd.get() < 0) return native_fail(err, errno, "open", "%s", path);
  ssize_t n = write(fd.get(), data.data(), data.size());
  if (n < 0) return native_fail(err, errno, "write", "%s", path);
  if (static_cast<size_t>(n) != data.size()) return native_fail(err, EIO, "write", "%s: short write", path);
  return 0;
}

// Runs newuidmap/newgidmap: "helper <pid> c h s [c h s ...]" from the map
// lines. posix_spawn (vfork-like) is safe from multi-threaded Node.
int run_map_helper(const std::string &helper, pid_t pid, const std::string &map, native_error *err) {
  std::vector<std::string> args{helper, std::to_string(pid)};
  std::string word;
  for (char c : map) {
    if (c == ' ' || c == '\n' || c == '\t') {
      if (!word.empty()) args.push_back(word);
      word.clear();
    } else {
      word.push_back(c);
    }
  }
  if (!word.empty()) args.push_back(word);
  std::vector<char *> argv;
  for (auto &a : args) argv.push_back(&a[0]);
  argv.push_back(nullptr);
  char *envp[] = {nullptr};
  pid_t h;
  int rc = posix_spawn(&h, helper.c_str(), nullptr, nullptr, argv.data(), envp);
  if (rc != 0) return native_fail(err, rc, "posix_spawn", "%s", helper.c_str());
  int status = 0;
  while (waitpid(h, &status, 0) < 0) {
    if (errno != EINTR) return native_fail(err, errno, "waitpid", "%s", helper.c_str());
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    return native_fail(err, EPERM, "exec", "%s %d %s failed (status 0x%x): check /etc/subuid and /etc/subgid", helper.c_str(),
                       static_cast<int>(pid), map.c_str(), status);
  return 0;
}

// Writes the id maps of a new user namespace, then releases the child.
int setup_userns(const spawn_request &req, pid_t pid, int sock, native_error *err) {
  bool mapped = !req.uid_map.empty() || !req.gid_map.empty();
  if (req.setgroups_deny && write_proc(pid, "setgroups", "deny", err) < 0) return -1;
  if (!req.gid_map.empty() && !req.gid_map_helper.empty()) {
    if (run_map_helper(req.gid_map_helper, pid, req.gid_map, err) < 0) return -1;
  } else if (!req.gid_map.empty() && write_proc(pid, "gid_map", req.gid_map, err) < 0) {
    return -1;
  }
  if (!req.uid_map.empty() && !req.uid_map_helper.empty()) {
    if (run_map_helper(req.uid_map_helper, pid, req.uid_map, err) < 0) return -1;
  } else if (!req.uid_map.empty() && write_proc(pid, "uid_map", req.uid_map, err) < 0) {
    return -1;
  }
  char go = mapped ? 'm' : 'n';
  if (write(sock, &go, 1) != 1) return native_fail(err, errno, "write", "sync socket (user namespace ready)");
  return 0;
}

pid_t raw_clone(unsigned long flags) {
  // newsp = 0: fork-like, the child runs on a copy of this stack.
  return static_cast<pid_t>(syscall(SYS_clone, flags, 0, 0, 0, 0));
}

// The kernel's struct clone_args (v2, with the cgroup field: Linux 5.7).
struct clone3_args {
  uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls, set_tid, set_tid_size, cgroup;
};

// clone(flags) or, with a cgroup2 directory fd, clone3 CLONE_INTO_CGROUP:
// the child is born in that cgroup, so nobody writes its pid to
// cgroup.procs (which waits an RCU grace period for the threadgroup lock).
// Both are fork-like (no new stack).
pid_t clone_child(unsigned long flags, int cgroup_fd) {
  if (cgroup_fd < 0) return raw_clone(flags);
  clone3_args ca{};
  ca.flags = (flags & ~0xffUL) | TSRUN_CLONE_INTO_CGROUP;
  // clone3 refuses an exit signal with CLONE_PARENT (EINVAL): the child then
  // gets the caller's own, as clone() silently does.
  ca.exit_signal = (flags & CLONE_PARENT) ? 0 : (flags & 0xff);
  ca.cgroup = static_cast<uint64_t>(cgroup_fd);
  return static_cast<pid_t>(syscall(SYS_clone3, &ca, sizeof ca));
}

}  // namespace

int spawn_init(const spawn_request &req, spawn_result *out, native_error *err) {
  const unsigned long ns_mask = CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWPID | CLONE_NEWNET |
                                CLONE_NEWUSER | CLONE_NEWCGROUP | CLONE_NEWTIME;
  if (req.clone_flags & ~ns_mask) return native_fail(err, EINVAL, "clone", "flags 0x%lx: only CLONE_NEW* allowed", req.clone_flags);
  if (req.preserve_fds < 0 || req.preserve_fds > 65536) return native_fail(err, EINVAL, "clone", "preserveFds %d", req.preserve_fds);

  Fd memfd;
  if (sealed_copy(req.init_path, &memfd, err) < 0) return -1;

  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) return native_fail(err, errno, "socketpair", "sync socket");
  Fd parent_end(sv[0]), child_end(sv[1]);

  // The helper's socket: the lowest fd >= 3+preserveFds that is not the memfd
  // (which the child still needs for execveat).
  int target = 3 + req.preserve_fds;
  while (target == memfd.get()) target++;
  char fdarg[16];
  snprintf(fdarg, sizeof fdarg, "%d", target);
  char arg0[] = "tsrun-init";
  char *argv[] = {arg0, fdarg, nullptr};
  char *envp[] = {nullptr};
  bool userns = (req.clone_flags & CLONE_NEWUSER) != 0;
  child_args args = {memfd.get(), child_end.get(), parent_end.get(), target, req.preserve_fds, userns, argv, envp};

  Fd cgroup_dir;
  if (!req.cgroup_dir.empty()) {
    cgroup_dir.reset(open(req.cgroup_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (cgroup_dir.get() < 0) return native_fail(err, errno, "open", "cgroup %s", req.cgroup_dir.c_str());
  }

  NsJoin pidns, timens;
  if (!req.join_pid_ns.empty() && pidns.join(req.join_pid_ns, "pid_for_children", CLONE_NEWPID, err) < 0) return -1;
  // The kernel refuses setns(time) in a multi-threaded process (EUSERS), so
  // this only works if Node runs single-threaded; the plan's OP_SETNS "time"
  // is the reliable way.
  if (!req.join_time_ns.empty() && timens.join(req.join_time_ns, "time_for_children", CLONE_NEWTIME, err) < 0) return -1;

  // No Node signal handler may run in the child before it resets them.
  uint64_t all = ~0ULL, old = 0;
  if (syscall(SYS_rt_sigprocmask, SIG_SETMASK, &all, &old, sizeof all) < 0)
    return native_fail(err, errno, "rt_sigprocmask", "block all");
  bool used_parent = req.clone_parent, into = cgroup_dir.get() >= 0;
  pid_t pid;
  int clone_errno = 0;
  for (;;) {
    pid = clone_child(req.clone_flags | SIGCHLD | (used_parent ? CLONE_PARENT : 0), into ? cgroup_dir.get() : -1);
    if (pid >= 0) break;  // the child breaks out too, with pid 0
    clone_errno = errno;
    // Node is the init of a pid namespace: CLONE_PARENT is not allowed there.
    if (clone_errno == EINVAL && used_parent) {
      used_parent = false;
      continue;
    }
    // No clone3/CLONE_INTO_CGROUP, or the cgroup refuses a process: plain
    // clone, and the caller writes cgroup.procs (which reports the cause).
    if (into) {
      into = false;
      used_parent = req.clone_parent;
      continue;
    }
    break;
  }
  if (pid == 0) child_main(&args);
  syscall(SYS_rt_sigprocmask, SIG_SETMASK, &old, nullptr, sizeof old);
  if (pid < 0) return native_fail(err, clone_errno, "clone", "flags 0x%lx", req.clone_flags);
  if (userns && setup_userns(req, pid, parent_end.get(), err) < 0) {
    // The child never gets to run the helper; do not leave it behind.
    kill(pid, SIGKILL);
    if (!used_parent) while (waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {}
    return -1;
  }

  out->pid = pid;
  out->sync_fd = parent_end.release();
  out->clone_parent = used_parent;
  out->in_cgroup = into;
  return 0;
}

int make_fifo(const std::string &path, unsigned mode, native_error *err) {
  if (mkfifo(path.c_str(), mode) < 0) return native_fail(err, errno, "mkfifo", "%s", path.c_str());
  // mkfifo applies the umask; the caller asked for exactly this mode.
  if (chmod(path.c_str(), mode) < 0) return native_fail(err, errno, "chmod", "%s", path.c_str());
  return 0;
}
