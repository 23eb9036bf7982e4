/* OP_JOIN_CGROUP: the helper moves itself into one cgroup v1 hierarchy. */
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "init.h"

void op_join_cgroup(const struct op *o) {
  const char *tasks = fstr(o, 0);
  int fd = open(tasks, O_WRONLY | O_CLOEXEC);
  if (fd < 0) die(errno, "join cgroup: open %s", tasks);
  /* "0" is the writer itself; the helper is single-threaded, so its one
   * thread moving is the whole process moving. */
  ssize_t n;
  do n = write(fd, "0", 1);
  while (n < 0 && errno == EINTR);
  if (n != 1) die(n < 0 ? errno : EIO, "join cgroup: write 0 to %s", tasks);
  close(fd);
}
