/* Whole-buffer read and write over a blocking fd, retried on EINTR: the
 * framing of plan_wire.h is read and written with these on both sides (the
 * addon and tsrun-init), so a short read means the same thing everywhere.
 * Header-only, async-signal-safe, valid C and C++. */
#ifndef TSRUN_FD_IO_H
#define TSRUN_FD_IO_H

#include <errno.h>
#include <stddef.h>
#include <unistd.h>

/* 0 ok, 1 EOF before len bytes, -1 errno. */
static inline int fd_read_full(int fd, void *buf, size_t len) {
  char *p = (char *)buf;
  while (len) {
    ssize_t n = read(fd, p, len);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return -1;
    if (n == 0) return 1;
    p += n;
    len -= (size_t)n;
  }
  return 0;
}

/* 0 ok, -1 errno. */
static inline int fd_write_full(int fd, const void *buf, size_t len) {
  const char *p = (const char *)buf;
  while (len) {
    ssize_t n = write(fd, p, len);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return -1;
    p += n;
    len -= (size_t)n;
  }
  return 0;
}

#endif
