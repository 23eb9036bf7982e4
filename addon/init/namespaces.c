/* OP_SETNS: join an existing namespace by path; OP_UNSHARE: make a new one. */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <string.h>
#include <unistd.h>

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

#include "init.h"

static int ns_type(const char *name) {
  static const struct { const char *name; int type; } types[] = {
      {"user", CLONE_NEWUSER}, {"mnt", CLONE_NEWNS}, {"net", CLONE_NEWNET},     {"ipc", CLONE_NEWIPC},
      {"uts", CLONE_NEWUTS},   {"cgroup", CLONE_NEWCGROUP},
      /* Only time_for_children changes; our own execve (OP_EXEC) then enters
       * it. Node cannot do this itself: setns(time) needs a single thread. */
      {"time", CLONE_NEWTIME},
  };
  for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
    if (!strcmp(types[i].name, name)) return types[i].type;
  return -1;
}

void op_setns(const struct op *o) {
  const char *path = fstr(o, 0), *name = fstr(o, 1);
  int type = ns_type(name);
  if (type < 0) die(EINVAL, "setns %s: unsupported namespace type '%s'", path, name);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) die(errno, "setns: open %s namespace %s", name, path);
  if (setns(fd, type) < 0) die(errno, "setns %s namespace %s", name, path);
  close(fd);
  /* Our host ids are not mapped in a joined user namespace: become its root,
   * as runc does after joining, so that what we create there (an exec's pty)
   * is owned by an id of the namespace and can be given to the user. A
   * namespace without 0 mapped (EINVAL) leaves the ids to OP_IDENTITY. */
  if (type == CLONE_NEWUSER) {
    if (setresgid(0, 0, 0) < 0 && errno != EINVAL) die(errno, "setns user: setresgid 0");
    if (setresuid(0, 0, 0) < 0 && errno != EINVAL) die(errno, "setns user: setresuid 0");
  }
}

void op_unshare(const struct op *o) {
  const char *name = fstr(o, 0);
  if (strcmp(name, "cgroup") != 0) die(EINVAL, "unshare: unsupported namespace type '%s'", name);
  if (unshare(CLONE_NEWCGROUP) < 0) die(errno, "unshare cgroup namespace");
}
