// The clone path of `tsrun create`/`run`: runs the sealed tsrun-init helper in
// new namespaces. Everything the child needs is prepared here, in the parent.
#ifndef TSRUN_SPAWN_H
#define TSRUN_SPAWN_H

#include <string>
#include <vector>
#include <sys/types.h>
#include "native_error.h"

struct spawn_request {
  std::string init_path;     // build/Release/tsrun-init on the host
  unsigned long clone_flags; // CLONE_NEW* only, never CLONE_NEWTIME (inside CSIGNAL)
  // The staged entry into namespaces (MSG_BOOTSTRAP payload: encoded plan
  // ending in OP_FORK, src/plan/ns-order.ts); "" = none (everything at clone).
  std::string bootstrap;
  int preserve_fds;          // fds 3 .. 3+n-1 are passed through (must be open)
  // Fds of the caller's to pass on: the helper finds pass_fds[i] at
  // 3+preserve_fds+1+i (right above its sync socket).
  std::vector<int> pass_fds;
  bool clone_parent;         // ask for CLONE_PARENT (falls back if EINVAL)
  // A cgroup2 directory to clone the child straight into (clone3
  // CLONE_INTO_CGROUP), "" = none. Falls back to plain clone when the kernel
  // or the cgroup refuses; spawn_result.in_cgroup says which happened.
  std::string cgroup_dir;
  // With CLONE_NEWUSER: /proc/<pid>/{uid,gid}_map contents ("" = none) and
  // whether to write "deny" to /proc/<pid>/setgroups first.
  std::string uid_map;
  std::string gid_map;
  bool setgroups_deny = false;
  // Unprivileged callers with maps beyond their own id: the setuid
  // newuidmap/newgidmap to run as "helper <pid> c h s [c h s ...]" instead
  // of writing the file ("" = write it directly).
  std::string uid_map_helper;
  std::string gid_map_helper;
};

struct spawn_result {
  pid_t pid;                 // the process that goes on (after OP_FORK when staged)
  int sync_fd;               // parent end of the socketpair (blocking, CLOEXEC)
  int pidfd;                 // pidfd of pid (CLOEXEC), -1 before Linux 5.3
  bool clone_parent;         // whether CLONE_PARENT was actually used
  bool in_cgroup;            // whether the child was born in cgroup_dir
};

int spawn_init(const spawn_request &req, spawn_result *out, native_error *err);
int make_fifo(const std::string &path, unsigned mode, native_error *err);

#endif
