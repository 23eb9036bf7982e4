/*
 * tsrun-init: the sealed, single-threaded helper that executes the plan of
 * addon/common/plan_wire.h inside the container's namespaces. It never makes
 * policy decisions; every failure ends in MSG_ERROR + exit(1).
 */
#ifndef TSRUN_INIT_H
#define TSRUN_INIT_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include <sys/types.h>

#include "fd_io.h"
#include "plan_wire.h"

/* One field of an op. data is a malloc'd copy with a trailing NUL added, so
 * text fields can be used as C strings (len excludes the NUL). */
struct field {
  char *data;
  size_t len;
};

struct op {
  uint32_t code;
  uint32_t nfields;
  struct field *fields;
};

struct plan {
  uint32_t nops;
  struct op *ops;
};

/* State carried between ops. */
struct init_ctx {
  int sync_fd;      /* socket to the parent; -1 after OP_READY */
  int root_fd;      /* O_PATH dirfd of the bound rootfs; -1 before OP_BIND_ROOTFS */
  char *rootfs;     /* host path of the rootfs */
  int devnull_fd;   /* O_PATH fd of a verified char 1:3 that can be bound */
  int devnull_tree; /* detached clone of the host's /dev/null, or -1 */
  int fifo_fd;      /* exec fifo, O_RDWR */
  int console_fd;   /* connected console socket (OP_CONSOLE_CONNECT), or -1 */
  bool pivoted;     /* after OP_PIVOT_ROOT / OP_MOVE_ROOT */
  bool needs_proc;  /* the plan writes procfs files (OP_SYSCTL, OP_OOM_SCORE_ADJ) */
  int proc_fd;      /* root of a private procfs (open_private_proc), or -1 */
  bool fork_pending; /* the plan forks into a joined pid namespace later (OP_FORK "wait") */
  char *exec_path;  /* args[0] as OP_LOOKPATH found it, for an OP_EXEC with an empty path */
  char *home;       /* HOME for the process (OP_HOME), appended to OP_EXEC's env; NULL = none */
  const struct op *cur; /* the op being executed, for error messages */
};

extern struct init_ctx ctx;

/* errors.c: send MSG_ERROR "<context>: <strerror(err)>" (or print it to fd 2
 * once the sync socket is closed) and exit(1). */
_Noreturn void die(int err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The same with exactly this text (no strerror appended): messages whose
 * wording callers match on (lookpath.c). */
_Noreturn void die_text(int err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
const char *op_name(uint32_t code);

/* wire.c */
/* MSG_PLAN (or MSG_BOOTSTRAP when bootstrap_ok) into out; returns the type.
 * Dies on malformed input. */
uint32_t read_plan(int fd, struct plan *out, bool bootstrap_ok);

/* Field helpers for the op being executed (die on bad input). */
const char *fstr(const struct op *o, uint32_t i);
uint64_t fu64(const struct op *o, uint32_t i);      /* decimal */
long long fi64(const struct op *o, uint32_t i);     /* signed decimal */
uint64_t fhex(const struct op *o, uint32_t i);      /* hex u64 */
void need_fields(const struct op *o, uint32_t min);

/* sync.c */
void send_msg(uint32_t type, const void *payload, uint32_t len);
void send_ready(void);
void await_commit(void); /* after send_ready: MSG_COMMIT, or exit on EOF */

/* resolve.c */
int resolve(const char *dest, int extra_resolve_flags); /* O_PATH fd or -1 (errno) */
int mkdir_all(const char *dest);                         /* O_PATH dir fd, dies */
int ensure_dest(const char *dest, bool is_file);         /* O_PATH fd, dies */
int parent_of(const char *dest, char **base);            /* O_PATH dir fd, dies */
void fd_path(int fd, char *buf, size_t len);             /* "/proc/self/fd/N" */

/* Op handlers (one per concern file). */
void op_setns(const struct op *o);
void op_unshare(const struct op *o);
void op_setns_pidfd(const struct op *o);
void op_fork(const struct op *o); /* returns in the child only */
void op_join_cgroup(const struct op *o);
void op_root_propagation(const struct op *o);
void op_bind_rootfs(const struct op *o);
void op_mount(const struct op *o);
void op_mknod(const struct op *o);
void op_symlink(const struct op *o);
void op_pivot_root(const struct op *o);
void op_move_root(const struct op *o);
void op_chroot(const struct op *o);
void op_mask_path(const struct op *o);
void op_readonly_path(const struct op *o);
void op_root_readonly(const struct op *o);
void op_hostname(const struct op *o);
void op_domainname(const struct op *o);
void op_sysctl(const struct op *o);
void op_rlimit(const struct op *o);
void op_oom_score_adj(const struct op *o);
void op_open_fifo(const struct op *o);
void op_identity(const struct op *o);
void op_chdir(const struct op *o);
void op_ready(const struct op *o);
_Noreturn void op_exec(const struct op *o);
void op_seccomp(const struct op *o);
void op_seccomp_listener(const struct op *o); /* seccomp.c */
void seccomp_before_exec(void); /* seccomp.c: a filter deferred to exec is loaded here */
void op_console_connect(const struct op *o); /* console.c */
void op_console_setup(const struct op *o);
void fix_stdio_owner(uid_t uid); /* console.c: stdio owned by the process's uid */

/* hooks.c, mountattr.c: ops 50-59 */
void op_runtime_hooks(const struct op *o);
void op_hook(const struct op *o);
void op_open_status_fifo(const struct op *o);
void op_mount_setattr(const struct op *o);
void op_mount_idmap(const struct op *o);
void op_mount_tree_fd(const struct op *o);
/* After OP_READY: also send a failure line to the status fifo, if open. */
void report_status(const char *line, size_t len);

/* extras.c: ops 60-79 */
void op_timens(const struct op *o);
void op_personality(const struct op *o);
void op_scheduler(const struct op *o);
void op_ioprio(const struct op *o);
void op_mempolicy(const struct op *o);
void op_cpu_affinity(const struct op *o);
void op_lsm_exec_label(const struct op *o);

/* lookpath.c: ops 80-89 */
void op_lookpath(const struct op *o);
void op_home(const struct op *o);

/* mounts.c helpers shared with rootfs.c */
void remount_keep_locked(int fd, const char *what, unsigned long flags);
void copy_tree(int src_dir, int dst_dir, const char *what); /* copyup.c: tmpcopyup */
unsigned long mount_flags_of(int fd);
/* rootfs.c: opens ctx.devnull_fd (before pivot). */
void open_devnull(void);
void unescape_mountinfo(char *s); /* mounts.c */
/* process.c: right after the pivot, a procfs of our own for the plan's
 * procfs writes; write_proc_file writes a file below it ("sys/...", "self/..."). */
void open_private_proc(void);
bool proc_file_exists(const char *rel);
void write_proc_file(const char *rel, const char *value);

#endif
