// See mountfd.h.
#include "mountfd.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
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

int idmap_tree(const std::string &source, bool clone_rec, bool idmap_rec, const std::string &userns, native_error *e) {
  int ns = open(userns.c_str(), O_RDONLY | O_CLOEXEC);
  if (ns < 0) return native_fail(e, errno, "open", "open user namespace %s", userns.c_str());
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

void throw_native(Napi::Env env, const native_error &e) {
  Napi::Error error = Napi::Error::New(env, e.msg);
  error.Set("errno", Napi::Number::New(env, e.err));
  error.Set("syscall", Napi::String::New(env, e.syscall));
  error.ThrowAsJavaScriptException();
}

Napi::Value IdmapTree(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  if (info.Length() < 4 || !info[0].IsString() || !info[1].IsBoolean() || !info[2].IsBoolean() || !info[3].IsString()) {
    Napi::TypeError::New(env, "idmapTree: expected (source, cloneRecursive, idmapRecursive, usernsPath)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  native_error err{};
  int fd = idmap_tree(info[0].As<Napi::String>().Utf8Value(), info[1].As<Napi::Boolean>().Value(), info[2].As<Napi::Boolean>().Value(),
                      info[3].As<Napi::String>().Utf8Value(), &err);
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
