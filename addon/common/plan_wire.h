/*
 * The contract between TypeScript (src/plan/wire.ts, src/plan/ops.ts) and the
 * sealed init helper (addon/init). TypeScript resolves config.json into a flat,
 * ordered list of operations; the helper executes them in order and never
 * decides policy. Keep this file and src/plan/ops.ts in sync.
 *
 * Transport: a SOCK_STREAM socketpair. The helper gets its end as the fd named
 * in argv[1]. Every message is framed as
 *     u32 type | u32 length | length bytes of payload      (host byte order)
 *
 * Parent -> helper:
 *   MSG_PLAN     payload = the plan (below)
 * Helper -> parent:
 *   MSG_READY    empty: every op up to OP_READY succeeded; the helper now blocks
 *                on the exec fifo (the container is "created").
 *   MSG_ERROR    payload = i32 errno | UTF-8 text, one line, with context and
 *                strerror, e.g. "mount proc on /proc: Operation not permitted".
 *                The helper exits(1) right after sending it.
 *
 * Plan payload: u32 op_count, then op_count records:
 *     u32 op | u32 field_count | field_count x (u32 len | len bytes)
 * Fields are byte strings (no NUL on the wire; numbers are decimal text,
 * capability masks are 16-digit hex text). Paths named "dest" are absolute
 * paths inside the container and are resolved under the rootfs with
 * openat2(RESOLVE_IN_ROOT|RESOLVE_NO_MAGICLINKS) before pivot_root.
 */
#ifndef TSRUN_PLAN_WIRE_H
#define TSRUN_PLAN_WIRE_H

enum tsrun_msg {
  MSG_PLAN = 1,
  MSG_READY = 2,
  MSG_ERROR = 3,
};

enum tsrun_op {
  /* setns(open(path), type) for an existing namespace (never pid: the addon
   * joins pid/time before clone). fields: path, type ("user","mnt","net",
   * "ipc","uts","cgroup","time"). "time" is accepted here because Node, being
   * multi-threaded, cannot setns(time) (EUSERS): the helper's setns changes
   * time_for_children and OP_EXEC's execve then enters it. */
  OP_SETNS = 1,
  /* mount(NULL, "/", NULL, flags, NULL). fields: flags. */
  OP_ROOT_PROPAGATION = 2,
  /* bind the rootfs onto itself (MS_BIND|MS_REC), make its parent mount
   * private, and keep an O_PATH dirfd of it as the root for later "dest"
   * resolution. fields: host path of rootfs. */
  OP_BIND_ROOTFS = 3,
  /* fields: source, dest, fstype, flags, data, propagation_flags, kind.
   * kind is "dir" or "file": what to create at dest when it is missing
   * (a bind of a non-directory needs a file). If flags has MS_BIND and other
   * flags (MS_RDONLY, MS_NOSUID, ...), the helper binds first and then
   * remounts with MS_REMOUNT|MS_BIND|flags. propagation_flags (0 = none) is
   * applied with a separate mount(NULL, dest, NULL, propagation_flags).
   * A bind source is a host path, opened O_PATH (must exist; resolve
   * relative sources against the bundle in TS). Needs OP_BIND_ROOTFS first. */
  OP_MOUNT = 4,
  /* Create a device node. fields: dest, type ("c","b","p","u"), major, minor,
   * file_mode (permission bits, decimal), uid, gid, host_path.
   * If mknod fails with EPERM (user namespace) the helper creates an empty
   * file at dest and bind-mounts host_path onto it instead. An existing
   * node at dest is left alone. */
  OP_MKNOD = 5,
  /* symlink(target, dest) unless dest exists. fields: target, dest. */
  OP_SYMLINK = 6,
  /* chdir(rootfs); pivot_root(".", "."); umount2(".", MNT_DETACH); chdir("/").
   * fields: none. */
  OP_PIVOT_ROOT = 7,
  /* --no-pivot: mount(rootfs, "/", MS_MOVE); chroot("."); chdir("/").
   * fields: none. */
  OP_MOVE_ROOT = 8,
  /* After pivot. Directory -> read-only tmpfs over it; anything else -> bind
   * of /dev/null (from an fd opened and verified as char 1:3 before pivot:
   * the rootfs' /dev/null if it is a real 1:3 node by then, e.g. after
   * OP_MKNOD, otherwise an open_tree clone of the host's).
   * Missing path: skipped. fields: path. */
  OP_MASK_PATH = 9,
  /* After pivot. Bind the path onto itself and remount read-only
   * (MS_REC, keeping nosuid/nodev/noexec). Missing: skipped. fields: path. */
  OP_READONLY_PATH = 10,
  /* After pivot: remount / read-only (MS_BIND|MS_REMOUNT|MS_RDONLY, keeping
   * the existing flags). fields: none. */
  OP_ROOT_READONLY = 11,
  OP_HOSTNAME = 12,       /* fields: name */
  OP_DOMAINNAME = 13,     /* fields: name */
  /* write value to /proc/sys/<path> (path already uses '/'). fields: path, value */
  OP_SYSCTL = 14,
  /* prlimit(0, resource, soft, hard). fields: resource, soft, hard (u64 decimal) */
  OP_RLIMIT = 15,
  /* write /proc/self/oom_score_adj. fields: value */
  OP_OOM_SCORE_ADJ = 16,
  /* Open the exec fifo O_RDWR|O_CLOEXEC while the host path is visible.
   * fields: host path. */
  OP_OPEN_FIFO = 17,
  /* Become the process's identity, in runc's order: drop the bounding set,
   * PR_SET_KEEPCAPS, setgroups, setresgid, setresuid, capset
   * (effective/permitted/inheritable), ambient raise, PR_SET_NO_NEW_PRIVS,
   * umask. fields: uid, gid, additional_gids (comma-separated, may be empty),
   * umask (decimal or empty = leave), no_new_privs ("0"/"1"),
   * cap_effective, cap_permitted, cap_inheritable, cap_bounding, cap_ambient
   * (hex u64 masks). */
  OP_IDENTITY = 18,
  /* chdir(path) and verify getcwd() is inside the root (CVE-2024-21626).
   * fields: path */
  OP_CHDIR = 19,
  /* Send MSG_READY, then block on the fifo until `start` writes a byte.
   * Needs OP_OPEN_FIFO earlier. After it the sync socket is closed and later
   * failures go to fd 2 only. fields: none. */
  OP_READY = 20,
  /* The last op. Reset every signal to SIG_DFL, clear the mask, mark every fd
   * >= 3 + preserve_fds close-on-exec, execve(path, argv, envp).
   * fields: path, preserve_fds, argc, argv[0..argc-1], envp...
   * If execve fails after OP_READY: "tsrun-init: exec <path>: <strerror>" on
   * fd 2 and exit 127; without OP_READY: MSG_ERROR and exit 1. On success the
   * socket closes (EOF) without a message. */
  OP_EXEC = 21,
  /* Load a compiled classic-BPF seccomp filter (struct sock_filter[]).
   * fields: flags (SECCOMP_FILTER_FLAG_*), program bytes. Put it last before
   * OP_EXEC: the filter must allow rt_sigaction, rt_sigprocmask, close_range,
   * fcntl and execve. NEW_LISTENER is refused (no channel for the fd). */
  OP_SECCOMP = 22,
};

#endif
