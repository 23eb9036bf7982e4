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

#include "fd_io.h"
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
#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif

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
  const int *pass;   // fds to put at target+1+i
  size_t npass;
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
  // The parent checked they are open and moved its own fds above them. Their
  // O_NONBLOCK is left alone: the description is the caller's (runc's way).
  for (int fd = 0; fd < 3 + a->preserve_fds; fd++) fcntl(fd, F_SETFD, 0);
  // Every source fd sits above target+npass (the parent moved it there), so
  // no dup2 below overwrites a source still to be copied.
  if (dup2(a->sock, a->target) < 0) child_fail(a->sock, errno, "dup2 sync socket");
  for (size_t i = 0; i < a->npass; i++)
    if (dup2(a->pass[i], a->target + 1 + static_cast<int>(i)) < 0) child_fail(a->sock, errno, "dup2 passed fd");
  if (a->userns) become_userns_root(a->target);
  syscall(SYS_execveat, a->memfd, "", a->argv, a->envp, AT_EMPTY_PATH);
  child_fail(a->target, errno, "execveat tsrun-init");
}

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

// Writes the id maps of pid's new user namespace.
int write_id_maps(const spawn_request &req, pid_t pid, native_error *err) {
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
  return 0;
}

bool has_maps(const spawn_request &req) { return !req.uid_map.empty() || !req.gid_map.empty(); }

// Writes the id maps of a new user namespace, then releases the child.
int setup_userns(const spawn_request &req, pid_t pid, int sock, native_error *err) {
  if (write_id_maps(req, pid, err) < 0) return -1;
  char go = has_maps(req) ? 'm' : 'n';
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

// The parent's half of the staged entry (plan_wire.h MSG_BOOTSTRAP): sends
// the namespace ops, writes the maps when the helper made a user namespace,
// and returns the pid OP_FORK reports. Frames from the helper are bounded:
// none of these carries more than an error line.
int drive_bootstrap(const spawn_request &req, pid_t helper, int sock, pid_t *child, native_error *err) {
  uint32_t hdr[2] = {MSG_BOOTSTRAP, static_cast<uint32_t>(req.bootstrap.size())};
  if (fd_write_full(sock, hdr, sizeof hdr) < 0 || fd_write_full(sock, req.bootstrap.data(), req.bootstrap.size()) < 0)
    return native_fail(err, errno, "write", "sync socket (namespace stages)");
  for (;;) {
    int r = fd_read_full(sock, hdr, sizeof hdr);
    if (r == 1) return native_fail(err, EPIPE, "read", "init helper exited while entering the namespaces");
    if (r < 0) return native_fail(err, errno, "read", "sync socket (namespace stages)");
    char payload[1024];
    if (hdr[1] > sizeof payload) return native_fail(err, EPROTO, "read", "init helper sent a frame of %u bytes", hdr[1]);
    if (hdr[1] && fd_read_full(sock, payload, hdr[1]) != 0)
      return native_fail(err, EPROTO, "read", "init helper exited in the middle of a message");
    switch (hdr[0]) {
      case MSG_USERNS_MAPS: {
        if (write_id_maps(req, helper, err) < 0) return -1;
        uint32_t h[2] = {MSG_USERNS_MAPPED, 1};
        char go = has_maps(req) ? 'm' : 'n';
        if (fd_write_full(sock, h, sizeof h) < 0 || fd_write_full(sock, &go, 1) < 0)
          return native_fail(err, errno, "write", "sync socket (user namespace ready)");
        break;
      }
      case MSG_CHILD_PID: {
        uint32_t pid = 0;
        if (hdr[1] != sizeof pid) return native_fail(err, EPROTO, "read", "child pid message of %u bytes", hdr[1]);
        memcpy(&pid, payload, sizeof pid);
        if (pid == 0 || pid > INT_MAX) return native_fail(err, EPROTO, "read", "child pid %u", pid);
        *child = static_cast<pid_t>(pid);
        return 0;
      }
      case MSG_ERROR: {
        int32_t e = EIO;
        if (hdr[1] >= 4) memcpy(&e, payload, 4);
        int len = hdr[1] >= 4 ? static_cast<int>(hdr[1] - 4) : 0;
        // The helper's line already names the call, the namespace and strerror.
        err->err = e;
        snprintf(err->syscall, sizeof err->syscall, "setns");
        snprintf(err->msg, sizeof err->msg, "%.*s", len, payload + 4);
        return -1;
      }
      default:
        return native_fail(err, EPROTO, "read", "init helper sent message type %u while entering the namespaces", hdr[0]);
    }
  }
}

// Moves fd to the lowest free number >= min (CLOEXEC), closing the old one,
// so that it can never sit in the preserved range or a passed fd's slot.
int move_above(Fd *fd, int min, const char *what, native_error *err) {
  if (fd->get() < 0 || fd->get() >= min) return 0;
  int moved = fcntl(fd->get(), F_DUPFD_CLOEXEC, min);
  if (moved < 0) return native_fail(err, errno, "fcntl", "F_DUPFD_CLOEXEC %s", what);
  fd->reset(moved);
  return 0;
}

}  // namespace

int spawn_init(const spawn_request &req, spawn_result *out, native_error *err) {
  const unsigned long ns_mask = CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWPID | CLONE_NEWNET |
                                CLONE_NEWUSER | CLONE_NEWCGROUP;
  // CLONE_NEWTIME (0x80) lies inside CSIGNAL: as a clone() flag it would be
  // read as an exit signal. A new time namespace is unshared by the helper.
  if (req.clone_flags & CLONE_NEWTIME)
    return native_fail(err, EINVAL, "clone", "flags 0x%lx: CLONE_NEWTIME is not a clone flag (the helper unshares it)", req.clone_flags);
  if (req.clone_flags & ~ns_mask) return native_fail(err, EINVAL, "clone", "flags 0x%lx: only CLONE_NEW* allowed", req.clone_flags);
  if (req.preserve_fds < 0 || req.preserve_fds > 65536) return native_fail(err, EINVAL, "clone", "preserveFds %d", req.preserve_fds);
  if (req.pass_fds.size() > 16) return native_fail(err, EINVAL, "clone", "%zu fds to pass", req.pass_fds.size());
  // Before any fd of ours exists: every preserved fd must really be the
  // caller's, or one of ours could fill a gap and reach the container.
  for (int fd = 3; fd < 3 + req.preserve_fds; fd++)
    if (fcntl(fd, F_GETFD) < 0) return native_fail(err, errno, "fcntl", "--preserve-fds %d: fd %d is not open", req.preserve_fds, fd);

  // The helper's socket sits right above the preserved fds, the passed fds
  // above it; every fd of ours is moved above all of those first.
  const int target = 3 + req.preserve_fds;
  const int above = target + 1 + static_cast<int>(req.pass_fds.size());

  Fd memfd;
  if (sealed_copy(req.init_path, &memfd, err) < 0) return -1;
  if (move_above(&memfd, above, "memfd", err) < 0) return -1;

  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) return native_fail(err, errno, "socketpair", "sync socket");
  Fd parent_end(sv[0]), child_end(sv[1]);
  if (move_above(&parent_end, above, "sync socket", err) < 0 || move_above(&child_end, above, "sync socket", err) < 0) return -1;

  std::vector<Fd> passed(req.pass_fds.size());
  std::vector<int> pass(req.pass_fds.size());
  for (size_t i = 0; i < req.pass_fds.size(); i++) {
    int fd = fcntl(req.pass_fds[i], F_DUPFD_CLOEXEC, above);
    if (fd < 0) return native_fail(err, errno, "fcntl", "F_DUPFD_CLOEXEC passed fd %d", req.pass_fds[i]);
    passed[i].reset(fd);
    pass[i] = fd;
  }

  char fdarg[16];
  snprintf(fdarg, sizeof fdarg, "%d", target);
  char arg0[] = "tsrun-init";
  char *argv[] = {arg0, fdarg, nullptr};
  char *envp[] = {nullptr};
  bool userns = (req.clone_flags & CLONE_NEWUSER) != 0;
  child_args args = {memfd.get(), child_end.get(), parent_end.get(), target, req.preserve_fds, userns, pass.data(), pass.size(), argv, envp};

  Fd cgroup_dir;
  if (!req.cgroup_dir.empty()) {
    cgroup_dir.reset(open(req.cgroup_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (cgroup_dir.get() < 0) return native_fail(err, errno, "open", "cgroup %s", req.cgroup_dir.c_str());
    if (move_above(&cgroup_dir, above, "cgroup directory", err) < 0) return -1;
  }

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
  auto give_up = [&](pid_t p) {
    // The child never gets to run the plan; do not leave it behind.
    kill(p, SIGKILL);
    if (!used_parent) while (waitpid(p, nullptr, 0) < 0 && errno == EINTR) {}
    return -1;
  };
  if (userns && setup_userns(req, pid, parent_end.get(), err) < 0) return give_up(pid);
  if (!req.bootstrap.empty()) {
    pid_t child = 0;
    if (drive_bootstrap(req, pid, parent_end.get(), &child, err) < 0) return give_up(pid);
    // The intermediate exits right after reporting; as our child, reap it
    // (as the caller's, the caller does). Its own pid: no fork yet (a pid
    // namespace joined by path), it runs the plan's first part itself.
    if (child != pid) {
      if (!used_parent) while (waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {}
      pid = child;
    }
  }

  // Opened while the process cannot be gone: it waits for its plan, and as
  // the caller's child it can only be reaped once dead. Rollback and signals
  // then never reach a process that reused the pid.
  long pidfd = syscall(SYS_pidfd_open, pid, 0);
  if (pidfd < 0 && errno != ENOSYS) {
    native_fail(err, errno, "pidfd_open", "init helper %d", static_cast<int>(pid));
    return give_up(pid);
  }
  out->pid = pid;
  out->pidfd = static_cast<int>(pidfd);
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
