/* Terminals: OP_CONSOLE_CONNECT and OP_CONSOLE_SETUP (plan_wire.h).
 *
 * The pty is allocated inside the container's own devpts instance (after
 * pivot_root / after setns(mnt)), never the host's: the master is sent to the
 * console socket exactly as runc does (one sendmsg, payload = pty name,
 * exactly one SCM_RIGHTS cmsg with exactly one fd), the slave becomes the
 * controlling terminal and fds 0, 1 and 2. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/magic.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include "init.h"

#ifndef TIOCGPTPEER
#define TIOCGPTPEER _IO('T', 0x41)
#endif

void op_console_connect(const struct op *o) {
  /* The parent connected (runc's order): no path lookup from inside the
   * container's namespaces, where the socket's directory may be out of reach. */
  int fd = (int)fu64(o, 0);
  struct stat st;
  if (fstat(fd, &st) < 0) die(errno, "console socket: fd %d", fd);
  if (!S_ISSOCK(st.st_mode)) die(ENOTSOCK, "console socket: fd %d", fd);
  if (fcntl(fd, F_SETFD, FD_CLOEXEC) < 0) die(errno, "console socket: fd %d", fd);
  ctx.console_fd = fd;
}

static void expect_devpts(int fd, const char *what) {
  struct statfs sfs;
  if (fstatfs(fd, &sfs) < 0) die(errno, "console: statfs %s", what);
  if (sfs.f_type != DEVPTS_SUPER_MAGIC) die(EXDEV, "console: %s is not on devpts (is /dev/pts mounted?)", what);
}

/* Opens the container's ptmx: /dev/pts/ptmx of its newinstance devpts, or
 * /dev/ptmx; either must really be on devpts. */
static int open_ptmx(void) {
  int fd = open("/dev/pts/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) fd = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (fd < 0) die(errno, "console: open /dev/pts/ptmx");
  expect_devpts(fd, "ptmx");
  return fd;
}

/* Bind the slave onto /dev/console, from the fd (never from a path the
 * container controls: CVE-2025-52565). */
static void mount_console(int slave) {
  int dev = open("/dev", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (dev < 0) die(errno, "console: open /dev");
  int target = openat(dev, "console", O_PATH | O_NOFOLLOW | O_CLOEXEC);
  if (target < 0 && errno == ENOENT) {
    int f = openat(dev, "console", O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0666);
    if (f < 0) die(errno, "console: create /dev/console");
    close(f);
    target = openat(dev, "console", O_PATH | O_NOFOLLOW | O_CLOEXEC);
  }
  if (target < 0) die(errno, "console: open /dev/console");
  struct stat st;
  if (fstat(target, &st) < 0) die(errno, "console: stat /dev/console");
  if (S_ISLNK(st.st_mode) || S_ISDIR(st.st_mode)) die(EINVAL, "console: /dev/console is not a file or device");
  int tree = open_tree(slave, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH);
  if (tree >= 0) {
    if (move_mount(tree, "", target, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
      die(errno, "console: bind the pty onto /dev/console");
    close(tree);
  } else {
    char src[64], dst[64];
    fd_path(slave, src, sizeof src);
    fd_path(target, dst, sizeof dst);
    if (mount(src, dst, NULL, MS_BIND, NULL) < 0) die(errno, "console: bind the pty onto /dev/console");
  }
  close(target);
  close(dev);
}

static void send_master(int master, const char *name) {
  struct iovec iov = {.iov_base = (void *)name, .iov_len = strlen(name)};
  union {
    char buf[CMSG_SPACE(sizeof(int))];
    struct cmsghdr align;
  } u;
  memset(&u, 0, sizeof u);
  struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof u.buf};
  struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(c), &master, sizeof(int));
  ssize_t n;
  do n = sendmsg(ctx.console_fd, &msg, MSG_NOSIGNAL);
  while (n < 0 && errno == EINTR);
  if (n < 0) die(errno, "console: send the pty master to the console socket");
}

/* The pty this helper made (OP_CONSOLE_SETUP): the only device on stdio
 * that fix_stdio_owner may give to the process's user. */
static bool have_console;
static dev_t console_rdev;

void op_console_setup(const struct op *o) {
  unsigned rows = (unsigned)fu64(o, 0), cols = (unsigned)fu64(o, 1);
  bool mount = fu64(o, 2) != 0;
  bool clear_onlcr = o->nfields > 3 && fu64(o, 3) != 0;
  if (ctx.console_fd < 0) die(EBADF, "console: no console socket (plan order)");

  int master = open_ptmx();
  int unlock = 0;
  if (ioctl(master, TIOCSPTLCK, &unlock) < 0) die(errno, "console: unlock pty");
  unsigned ptn = 0;
  if (ioctl(master, TIOCGPTN, &ptn) < 0) die(errno, "console: pty number");
  char name[64];
  snprintf(name, sizeof name, "/dev/pts/%u", ptn);
  int slave = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (slave < 0) die(errno, "console: open the pty peer of %s", name);
  expect_devpts(slave, name);
  if (rows || cols) {
    struct winsize ws = {.ws_row = (unsigned short)rows, .ws_col = (unsigned short)cols};
    if (ioctl(slave, TIOCSWINSZ, &ws) < 0) die(errno, "console: set the size of %s", name);
  }
  /* A foreground terminal tsrun proxies itself: no "\n" -> "\r\n" on
   * output, as runc (ClearONLCR on the master it receives). Set here, before
   * the process can write anything. */
  if (clear_onlcr) {
    struct termios t;
    if (tcgetattr(slave, &t) < 0) die(errno, "console: tcgetattr %s", name);
    t.c_oflag &= ~(tcflag_t)ONLCR;
    if (tcsetattr(slave, TCSANOW, &t) < 0) die(errno, "console: clear ONLCR on %s", name);
  }
  struct stat st;
  if (fstat(slave, &st) < 0) die(errno, "console: fstat %s", name);
  have_console = true;
  console_rdev = st.st_rdev;
  if (mount) mount_console(slave);

  send_master(master, name);
  close(master);
  close(ctx.console_fd);
  ctx.console_fd = -1;

  /* A new session whose controlling terminal is the pty, on stdio. */
  if (setsid() < 0 && errno != EPERM) die(errno, "console: setsid");
  if (ioctl(slave, TIOCSCTTY, 0) < 0) die(errno, "console: make %s the controlling terminal", name);
  for (int fd = 0; fd < 3; fd++)
    if (dup2(slave, fd) < 0) die(errno, "console: dup %s onto fd %d", name, fd);
  if (slave > 2) close(slave);
}

/* Before the uid changes (OP_IDENTITY), as runc's fixStdioPermissions: the
 * process's stdio becomes owned by its uid (the gid is left alone: devpts may
 * prefer its own), so that it can reopen them (/dev/stdout, /proc/self/fd/N)
 * and use its console. Pipes, fifos, sockets, regular files and the pty made
 * by OP_CONSOLE_SETUP qualify; any other device (the host's /dev/null, a
 * terminal passed as plain stdio) is the host's and is never given away.
 * Where the kernel refuses (an owner unmapped in a user namespace: EPERM,
 * EINVAL; a read-only file system: EROFS) the fd is left as it is (runc). */
void fix_stdio_owner(uid_t uid) {
  for (int fd = 0; fd < 3; fd++) {
    struct stat st;
    if (fstat(fd, &st) < 0) {
      if (errno == EBADF) continue;
      die(errno, "identity: fstat stdio fd %d", fd);
    }
    if (st.st_uid == uid) continue;
    bool ours = S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode) || S_ISREG(st.st_mode) ||
                (S_ISCHR(st.st_mode) && have_console && st.st_rdev == console_rdev);
    if (!ours) continue;
    if (fchown(fd, uid, (gid_t)-1) < 0 && errno != EPERM && errno != EINVAL && errno != EROFS)
      die(errno, "identity: chown stdio fd %d to uid %u", fd, (unsigned)uid);
  }
}
