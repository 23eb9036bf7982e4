/* A minimal seccomp agent for tests (config-linux.md "Seccomp", listenerPath).
 *
 *   tsrun-seccomp-agent SOCKET OUTDIR ERRNO
 *
 * Listens on SOCKET; for each runtime connection receives the container
 * process state (JSON, written to OUTDIR/state-N.json) and the seccomp notify
 * fd (SCM_RIGHTS), then answers every notification: ERRNO > 0 fails the
 * syscall with that errno, ERRNO == 0 lets it continue
 * (SECCOMP_USER_NOTIF_FLAG_CONTINUE). Each notified syscall number is
 * appended to OUTDIR/log. Writes OUTDIR/ready once listening; runs until
 * killed. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#define MAX_FDS 64

static const char *outdir;

static void write_file(const char *name, const char *data, size_t len, int append) {
  char path[4096], tmp[4200];
  snprintf(path, sizeof path, "%s/%s", outdir, name);
  if (append) {
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd >= 0) {
      if (write(fd, data, len) < 0) perror("write");
      close(fd);
    }
    return;
  }
  snprintf(tmp, sizeof tmp, "%s.tmp", path);
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return;
  if (write(fd, data, len) < 0) perror("write");
  close(fd);
  rename(tmp, path);
}

/* Reads the state until EOF; the notify fd comes with the first bytes. */
static int receive(int conn, char *buf, size_t cap, size_t *len) {
  int nfd = -1;
  *len = 0;
  for (;;) {
    char control[CMSG_SPACE(sizeof(int) * 4)];
    struct iovec iov = {.iov_base = buf + *len, .iov_len = cap - 1 - *len};
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control, .msg_controllen = sizeof control};
    ssize_t n = recvmsg(conn, &msg, MSG_CMSG_CLOEXEC);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
      if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS && nfd < 0) memcpy(&nfd, CMSG_DATA(c), sizeof nfd);
    }
    *len += (size_t)n;
    if (*len >= cap - 1) break;
  }
  buf[*len] = 0;
  return nfd;
}

int main(int argc, char **argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: %s SOCKET OUTDIR ERRNO\n", argv[0]);
    return 2;
  }
  outdir = argv[2];
  int err = atoi(argv[3]);
  struct seccomp_notif_sizes sizes;
  if (syscall(SYS_seccomp, SECCOMP_GET_NOTIF_SIZES, 0, &sizes) < 0) {
    perror("SECCOMP_GET_NOTIF_SIZES");
    return 1;
  }
  size_t req_size = sizes.seccomp_notif > sizeof(struct seccomp_notif) ? sizes.seccomp_notif : sizeof(struct seccomp_notif);
  size_t resp_size = sizes.seccomp_notif_resp > sizeof(struct seccomp_notif_resp) ? sizes.seccomp_notif_resp
                                                                                  : sizeof(struct seccomp_notif_resp);
  struct seccomp_notif *req = malloc(req_size);
  struct seccomp_notif_resp *resp = malloc(resp_size);

  int ls = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_un addr = {.sun_family = AF_UNIX};
  snprintf(addr.sun_path, sizeof addr.sun_path, "%s", argv[1]);
  unlink(argv[1]);
  if (bind(ls, (struct sockaddr *)&addr, sizeof addr) < 0 || listen(ls, 16) < 0) {
    perror("bind/listen");
    return 1;
  }
  chmod(argv[1], 0777);
  write_file("ready", "1", 1, 0);

  struct pollfd fds[MAX_FDS + 1];
  int n = 1, conns = 0;
  fds[0] = (struct pollfd){.fd = ls, .events = POLLIN};
  for (;;) {
    if (poll(fds, (nfds_t)n, -1) < 0) {
      if (errno == EINTR) continue;
      perror("poll");
      return 1;
    }
    if (fds[0].revents & POLLIN) {
      int conn = accept4(ls, NULL, NULL, SOCK_CLOEXEC);
      if (conn >= 0) {
        static char buf[65536];
        size_t len;
        int nfd = receive(conn, buf, sizeof buf, &len);
        close(conn);
        char name[64];
        snprintf(name, sizeof name, "state-%d.json", conns++);
        write_file(name, buf, len, 0);
        if (nfd >= 0 && n < MAX_FDS + 1) fds[n++] = (struct pollfd){.fd = nfd, .events = POLLIN};
        else if (nfd < 0) write_file("log", "no-fd\n", 6, 1);
      }
    }
    for (int i = 1; i < n; i++) {
      if (fds[i].revents & POLLIN) {
        memset(req, 0, req_size);
        if (ioctl(fds[i].fd, SECCOMP_IOCTL_NOTIF_RECV, req) == 0) {
          char line[32];
          int l = snprintf(line, sizeof line, "%d\n", req->data.nr);
          write_file("log", line, (size_t)l, 1);
          memset(resp, 0, resp_size);
          resp->id = req->id;
          if (err > 0) resp->error = -err;
          else resp->flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
          ioctl(fds[i].fd, SECCOMP_IOCTL_NOTIF_SEND, resp); /* ENOENT: the caller died meanwhile */
        }
      } else if (fds[i].revents & (POLLHUP | POLLERR | POLLNVAL)) {
        close(fds[i].fd);
        fds[i--] = fds[--n];
      }
    }
  }
}
