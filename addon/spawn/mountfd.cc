// See mountfd.h.
#include "mountfd.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sched.h>
#include <signal.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>

#include "native_error.h"

#ifndef SYS_open_tree
#define SYS_open_tree 428
#endif
#ifndef SYS_mount_setattr
#define SYS_mount_setattr 442
#endif

namespace {

constexpr unsigned kOpenTreeClone = 1;
constexpr unsigned kAtRecursive = 0x8000;
constexpr unsigned kAtEmptyPath = 0x1000;
constexpr uint64_t kMountAttrIdmap = 0x00100000;

struct mount_attr_v0 {
  uint64_t attr_set;
  uint64_t attr_clr;
  uint64_t propagation;
  uint64_t userns_fd;
};

int write_map(pid_t pid, const char *file, const std::string &map, native_error *e) {
  std::string path = "/proc/" + std::to_string(pid) + "/" + file;
  int fd = open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return native_fail(e, errno, "open", "open %s", path.c_str());
  ssize_t n = write(fd, map.data(), map.size());
  int err = errno;
  close(fd);
  if (n < 0) return native_fail(e, err, "write", "write mount mappings '%s' to %s", map.c_str(), path.c_str());
  if (static_cast<size_t>(n) != map.size()) return native_fail(e, EIO, "write", "write mount mappings to %s: short write", path.c_str());
  return 0;
}

// runc 1.2's way for a mount's own uidMappings/gidMappings: a temporary user
// namespace with exactly those maps ("containerID hostID size" lines, as for
// a container's /proc/<pid>/uid_map), held by an fd. A child is cloned into
// a new user namespace (exit signal 0: no SIGCHLD for Node's handlers; it
// only blocks on a pipe, async-signal-safe, and exits if this process dies),
// the maps are written, its ns opened, then it is killed and reaped.
int temp_userns(const std::string &uid_map, const std::string &gid_map, native_error *e) {
  int p[2];
  if (pipe2(p, O_CLOEXEC) < 0) return native_fail(e, errno, "pipe2", "pipe for the mount user namespace");
  pid_t pid = static_cast<pid_t>(syscall(SYS_clone, CLONE_NEWUSER, 0, 0, 0, 0));
  if (pid == 0) {
    char c;
    syscall(SYS_close, p[1]);
    while (syscall(SYS_read, p[0], &c, 1) < 0) {
    }
    syscall(SYS_exit_group, 0);
  }
  int err = errno;
  close(p[0]);
  if (pid < 0) {
    close(p[1]);
    return native_fail(e, err, "clone", "clone a user namespace for the mount mappings");
  }
  int ns = -1;
  if (write_map(pid, "uid_map", uid_map, e) == 0 && write_map(pid, "gid_map", gid_map, e) == 0) {
    std::string path = "/proc/" + std::to_string(pid) + "/ns/user";
    ns = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (ns < 0) native_fail(e, errno, "open", "open %s", path.c_str());
  }
  close(p[1]);
  kill(pid, SIGKILL);
  while (waitpid(pid, nullptr, __WALL) < 0 && errno == EINTR) {
  }
  return ns;
}

int idmap_tree(const std::string &source, bool clone_rec, bool idmap_rec, const std::string &userns, const std::string &uid_map,
               const std::string &gid_map, native_error *e) {
  int ns;
  if (!uid_map.empty()) {
    ns = temp_userns(uid_map, gid_map, e);
    if (ns < 0) return -1;
  } else {
    ns = open(userns.c_str(), O_RDONLY | O_CLOEXEC);
    if (ns < 0) return native_fail(e, errno, "open", "open user namespace %s", userns.c_str());
  }
  int fd = static_cast<int>(syscall(SYS_open_tree, AT_FDCWD, source.c_str(), kOpenTreeClone | O_CLOEXEC | (clone_rec ? kAtRecursive : 0)));
  if (fd < 0) {
    int err = errno;
    close(ns);
    return native_fail(e, err, "open_tree", "open_tree %s", source.c_str());
  }
  mount_attr_v0 a{};
  a.attr_set = kMountAttrIdmap;
  a.userns_fd = static_cast<uint64_t>(ns);
  if (syscall(SYS_mount_setattr, fd, "", kAtEmptyPath | (idmap_rec ? kAtRecursive : 0), &a, sizeof a) < 0) {
    int err = errno;
    close(ns);
    close(fd);
    return native_fail(e, err, "mount_setattr", "mount_setattr MOUNT_ATTR_IDMAP on %s (does it support idmapped mounts?)",
                       source.c_str());
  }
  close(ns);
  return fd;
}

// u32 type | u32 length 0, with fd as the one SCM_RIGHTS cmsg.
int send_fd(int sock, uint32_t type, int fd, native_error *e) {
  uint32_t hdr[2] = {type, 0};
  union {
    char buf[CMSG_SPACE(sizeof(int))];
    cmsghdr align;
  } u;
  memset(&u, 0, sizeof u);
  iovec iov{hdr, sizeof hdr};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = u.buf;
  msg.msg_controllen = sizeof u.buf;
  cmsghdr *c = CMSG_FIRSTHDR(&msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(c), &fd, sizeof fd);
  ssize_t n;
  do n = sendmsg(sock, &msg, MSG_NOSIGNAL);
  while (n < 0 && errno == EINTR);
  if (n < 0) return native_fail(e, errno, "sendmsg", "send mount fd to the container init");
  if (static_cast<size_t>(n) != sizeof hdr) return native_fail(e, EIO, "sendmsg", "send mount fd to the container init: short write");
  return 0;
}

Napi::Value IdmapTree(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  if (info.Length() < 4 || !info[0].IsString() || !info[1].IsBoolean() || !info[2].IsBoolean() || !info[3].IsString() ||
      (info.Length() > 4 && (info.Length() < 6 || !info[4].IsString() || !info[5].IsString()))) {
    Napi::TypeError::New(env, "idmapTree: expected (source, cloneRecursive, idmapRecursive, usernsPath[, uidMap, gidMap])").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  std::string uid_map = info.Length() > 4 ? info[4].As<Napi::String>().Utf8Value() : "";
  std::string gid_map = info.Length() > 4 ? info[5].As<Napi::String>().Utf8Value() : "";
  if (uid_map.empty() != gid_map.empty()) {
    Napi::TypeError::New(env, "idmapTree: uidMap and gidMap must be given together").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  native_error err{};
  int fd = idmap_tree(info[0].As<Napi::String>().Utf8Value(), info[1].As<Napi::Boolean>().Value(), info[2].As<Napi::Boolean>().Value(),
                      info[3].As<Napi::String>().Utf8Value(), uid_map, gid_map, &err);
  if (fd < 0) {
    throw_native(env, err);
    return env.Undefined();
  }
  return Napi::Number::New(env, fd);
}

Napi::Value SendFd(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  if (info.Length() < 3 || !info[0].IsNumber() || !info[1].IsNumber() || !info[2].IsNumber()) {
    Napi::TypeError::New(env, "sendFd: expected (socketFd, type, fd)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  native_error err{};
  if (send_fd(info[0].As<Napi::Number>().Int32Value(), info[1].As<Napi::Number>().Uint32Value(), info[2].As<Napi::Number>().Int32Value(), &err) < 0)
    throw_native(env, err);
  return env.Undefined();
}

}  // namespace

void mountfd_register(Napi::Env env, Napi::Object exports) {
  exports.Set("idmapTree", Napi::Function::New(env, IdmapTree, "idmapTree"));
  exports.Set("sendFd", Napi::Function::New(env, SendFd, "sendFd"));
}
