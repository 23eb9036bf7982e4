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
 *   MSG_COMMIT   empty: the answer to MSG_READY once the container is recorded
 * Helper -> parent:
 *   MSG_READY    empty: every op up to OP_READY succeeded; the helper now waits
 *                for MSG_COMMIT, then blocks on the exec fifo.
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
  /* Hooks (ops 50-59). Helper -> parent, empty: OP_RUNTIME_HOOKS reached; the
   * namespaces exist and the mounts are done, pivot_root has not happened.
   * The parent runs the prestart and createRuntime hooks in the runtime
   * namespace (state "creating", the init's host pid), then answers: */
  MSG_HOOKS = 4,
  /* Parent -> helper, empty: the runtime hooks succeeded, go on. When one
   * fails the parent SIGKILLs the helper instead (EOF = exit quietly). */
  MSG_HOOKS_DONE = 5,
  /* Parent -> helper, empty payload, exactly one fd in an SCM_RIGHTS cmsg on
   * the header (one sendmsg per fd): a detached, idmapped mount tree for the
   * next OP_MOUNT_TREE_FD. The parent sends them right after MSG_PLAN, one per
   * OP_MOUNT_TREE_FD in plan order; the helper recvmsg()s one per op. */
  MSG_MOUNT_FD = 6,
  /* Parent -> helper, empty: the answer to MSG_READY once the parent has
   * recorded the container (state written). Until then the helper reads the
   * sync socket: EOF (the parent died before recording it) makes it exit, so
   * a killed `create` never leaves an init nobody knows about. */
  MSG_COMMIT = 7,
  /* The staged entry into namespaces (src/plan/ns-order.ts, ARCHITECTURE.md
   * "create/exec, step by step"). Parent (the addon) -> helper, first of all
   * and only when the sequence is staged: a plan (same payload as MSG_PLAN)
   * of namespace ops ending in OP_FORK. The helper runs it as the
   * "intermediate" process in the host's pid namespace; the process that
   * OP_FORK creates then reads the MSG_PLAN. */
  MSG_BOOTSTRAP = 8,
  /* Helper -> parent, empty: OP_UNSHARE "user" made the user namespace; write
   * its uid/gid maps (/proc/<helper pid>/...). */
  MSG_USERNS_MAPS = 9,
  /* Parent -> helper, one byte: 'm' maps written (become uid/gid 0 there),
   * 'n' no maps. */
  MSG_USERNS_MAPPED = 10,
  /* Helper -> parent, u32 host pid: OP_FORK made the process that goes on
   * (the container's init or exec'd process); the intermediate exits 0. */
  MSG_CHILD_PID = 11,
  /* Parent -> helper, empty: the answer to the MSG_CHILD_PID of an OP_FORK
   * "wait": the parent holds a pidfd of the child, which goes on. A
   * MSG_BOOTSTRAP without OP_FORK ends with a MSG_CHILD_PID of the helper's
   * own pid (it runs the plan's first part itself), which needs no answer. */
  MSG_CHILD_GO = 12,
};

enum tsrun_op {
  /* setns(open(path), type) for an existing namespace. fields: path, type
   * ("user","mnt","net","ipc","uts","cgroup","time","pid"). "pid" and "time"
   * change only pid_for_children/time_for_children: the next OP_FORK (pid,
   * time) or OP_EXEC's execve (time) enters them. Node, being multi-threaded,
   * cannot setns(time) (EUSERS), so these joins are always the helper's.
   * A 3rd field "open" only opens the file and keeps the fd (one at a time);
   * a later OP_SETNS of that type with an empty path joins through it: a
   * host path opened before the joins and the root switch hide it (the pid
   * namespace joined by path, entered after pivot_root). */
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
   * relative sources against the bundle in TS). Needs OP_BIND_ROOTFS first.
   * An optional 8th field "copyup" (tmpfs only, crun's tmpcopyup): the new
   * mount starts with a copy of the directory it covers (contents, modes,
   * owners, symlinks, device nodes), read from an fd opened before mounting. */
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
   * fields: none, or one: "stack" does the pivot only (the old root stays
   * stacked over "/", where no path walk from the new root reaches it);
   * "detach" then detaches it. Between the two the child of a late pid
   * entry in a user namespace mounts procfs: the kernel lets a user
   * namespace mount a procfs only while a fully visible one is in the mount
   * namespace (the host's, under the old root). */
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
   * the existing flags). fields: none, or [path]: remount the mount at path
   * instead (runc's finalizeRootfs: a read-only tmpfs or /dev is mounted
   * writable, and made read-only after the devices and the console). */
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
  /* Send MSG_READY, wait for MSG_COMMIT (EOF: exit(1) quietly), then block
   * on the fifo until `start` writes a byte. Needs OP_OPEN_FIFO earlier.
   * After MSG_COMMIT the sync socket is closed and later failures go to fd 2
   * only. fields: none. */
  OP_READY = 20,
  /* The last op. Reset every signal to SIG_DFL, clear the mask, mark every fd
   * >= 3 + preserve_fds close-on-exec, execve(path, argv, envp).
   * fields: path, preserve_fds, argc, argv[0..argc-1], envp...
   * An empty path execs what OP_LOOKPATH found; after OP_HOME, envp gets
   * "HOME=<home>" appended. If execve fails after OP_READY: "tsrun-init: exec <path>: <strerror>" on
   * fd 2 and exit 127; without OP_READY: MSG_ERROR and exit 1. On success the
   * socket closes (EOF) without a message. `exec` plans have no OP_READY:
   * the joins are their MSG_BOOTSTRAP (OP_SETNS_PIDFD moves root and cwd to
   * the container's root, then OP_FORK), the plan is ..., OP_CHDIR,
   * OP_IDENTITY, OP_EXEC, and the parent treats EOF as success. */
  OP_EXEC = 21,
  /* Load a compiled classic-BPF seccomp filter (struct sock_filter[]),
   * see addon/init/seccomp.c and src/seccomp/plan.ts.
   * fields: flags (SECCOMP_FILTER_FLAG_*, never NEW_LISTENER), program bytes,
   * [when: "now" (default) | "exec"], [state: containerProcessState JSON, or
   * empty]. "now" loads at this point (without no_new_privs: just before
   * OP_IDENTITY, which needs CAP_SYS_ADMIN); "exec" defers the load to
   * OP_EXEC, right before execve (after the signal reset and close_range),
   * which needs no_new_privs. A non-empty state loads with
   * SECCOMP_FILTER_FLAG_NEW_LISTENER and sends the notify fd + state in one
   * sendmsg (SCM_RIGHTS) over the socket of OP_SECCOMP_LISTENER. */
  OP_SECCOMP = 22,
  /* unshare() new namespaces. fields: one or more types ("mnt","uts","ipc",
   * "net","pid","cgroup"), unshared in one call; or exactly "user": unshare
   * CLONE_NEWUSER, send MSG_USERNS_MAPS, wait for MSG_USERNS_MAPPED and, when
   * mapped, become uid/gid 0 of the namespace (runc's order: joins first,
   * then the user namespace, then the rest, so the rest is owned by it).
   * A new cgroup namespace is made in the plan proper, never cloned: its
   * root is the cgroup the helper is in when it is made, and the helper is
   * in the container's cgroups only after clone (OP_JOIN_CGROUP earlier in
   * the plan, or the parent's cgroup.procs write before it sends the plan). */
  OP_UNSHARE = 23,
  /* Join one cgroup v1 hierarchy: write "0" (this very thread) to its
   * "tasks" file. fields: path of the tasks file. Early in the plan, before
   * any setns or unshare. A single thread moving itself skips the kernel's
   * cgroup_threadgroup_rwsem, whose write lock waits a whole RCU grace period
   * (8-16 ms here); the unified hierarchy is entered by clone3
   * CLONE_INTO_CGROUP in the addon for the same reason. */
  OP_JOIN_CGROUP = 24,
  /* setns(pidfd, mask): join every namespace in mask (CLONE_NEW* bits,
   * decimal) of the process the pidfd refers to, atomically and immune to pid
   * reuse (Linux 5.8; older kernels: the same joins through /proc/<pid>/ns,
   * then a pidfd_send_signal(0) check that the process is still the same).
   * Closes the fd. fields: fd (a fd passed by the addon), mask. */
  OP_SETNS_PIDFD = 25,
  /* clone(CLONE_PARENT), fork-like: the child is the first process of ours
   * in the pid namespace entered before (pid_for_children), already in every
   * other namespace, non-dumpable and holding only the fds the plan passes
   * on; this process sends MSG_CHILD_PID and exits 0. Either the last op of
   * MSG_BOOTSTRAP (fields: none; the child goes on with the MSG_PLAN), or,
   * with a pid namespace joined by path, in the MSG_PLAN right after the root
   * switch (fields: "wait"; the child closes a procfs opened before, waits
   * for MSG_CHILD_GO and goes on with the plan). */
  OP_FORK = 26,
  /* SCMP_ACT_NOTIFY: connect (AF_UNIX SOCK_STREAM) to the seccomp agent's
   * listenerPath while the host path is visible: put it first in the plan,
   * before any setns or mount op. fields: socket path (< 108 bytes). */
  OP_SECCOMP_LISTENER = 30,
  /* Terminals (process.terminal). The parent connects to the console socket
   * (it may sit where the container's user cannot reach, e.g. from inside a
   * user namespace) and passes the connected socket as an fd, as runc does;
   * this op adopts it. fields: fd (decimal). */
  OP_CONSOLE_CONNECT = 40,
  /* After pivot_root (create) or setns(mnt) (exec): open the container's
   * /dev/pts/ptmx (else /dev/ptmx; must be on devpts), unlock it, open the
   * slave with TIOCGPTPEER, TIOCSWINSZ when rows/cols are not both 0, and if
   * mount_console is "1" bind the slave (from its fd, via open_tree) onto
   * /dev/console (created as an empty file when missing). Then ONE sendmsg
   * on the console socket: payload = the pty name ("/dev/pts/N"), exactly
   * one SCM_RIGHTS cmsg carrying exactly the master (runc's protocol), close
   * the socket and the master, setsid, TIOCSCTTY, and dup the slave onto
   * fds 0, 1, 2. Needs OP_CONSOLE_CONNECT earlier.
   * Before the socket: with clear_onlcr "1" (a foreground terminal tsrun
   * proxies itself) ONLCR is cleared on the pty, as runc does on its own.
   * fields: rows, cols, mount_console ("0"/"1"), [clear_onlcr ("0"/"1")]. */
  OP_CONSOLE_SETUP = 41,
};

/* 50-59: hooks and mount_setattr(2) (addon/init/hooks.c, mountattr.c). */
enum tsrun_op_hooks {
  /* Pause for the runtime-namespace hooks: send MSG_HOOKS, block until
   * MSG_HOOKS_DONE (EOF: exit(1) silently). After mounts and devices, before
   * the createContainer OP_HOOKs and pivot_root. fields: none. */
  OP_RUNTIME_HOOKS = 50,
  /* fork + execve one hook in the helper's current namespaces and identity
   * (createContainer: before pivot_root, so path resolves in the runtime's
   * mount tree, with the bound rootfs as cwd, as runc; startContainer: after
   * OP_READY, path resolved in the container, cwd process.cwd). stdin = state_prefix + getpid() in decimal + state_suffix
   * (the pid as the container sees it); stdout+stderr are captured and their
   * tail ends up in the error. Signals reset and unblocked, fds >= 3 closed.
   * timeout: seconds, 0 = none; on expiry SIGKILL and ETIMEDOUT. A non-zero
   * exit is MSG_ERROR (ECANCELED) before OP_READY, and after it a line on
   * fd 2 and on the status fifo (OP_OPEN_STATUS_FIFO), then exit(1).
   * fields: stage, path, timeout, state_prefix, state_suffix, argc,
   * argv[0..argc-1] (argc 0: argv = {path}), envp... (exactly these). */
  OP_HOOK = 51,
  /* Open the status fifo O_RDWR|O_CLOEXEC while the host path is visible.
   * `start` reads it until EOF: the fd closes at the final execve (success)
   * or at exit; a failure after OP_READY writes its one-line message there
   * first. fields: host path. */
  OP_OPEN_STATUS_FIFO = 52,
  /* mount_setattr(resolve(dest), AT_EMPTY_PATH [|AT_RECURSIVE]) with
   * MOUNT_ATTR_* bits: the recursive r* options. After the OP_MOUNT of dest.
   * fields: dest, attr_set, attr_clr, propagation, recursive ("0"/"1"). */
  OP_MOUNT_SETATTR = 53,
  /* idmap/ridmap bind mount: a user namespace with uid_map/gid_map is made
   * (a child cloned with CLONE_NEWUSER, maps written, ns fd kept), source is
   * cloned with open_tree(OPEN_TREE_CLONE [|AT_RECURSIVE if tree]), gets
   * MOUNT_ATTR_IDMAP (AT_RECURSIVE if idmap_recursive) and then
   * attr_set/attr_clr (over the whole tree), and is move_mount()ed onto dest.
   * fields: source, dest, kind ("dir"/"file"), tree ("0"/"1"),
   * idmap_recursive ("0"/"1"), uid_map, gid_map, attr_set, attr_clr. */
  OP_MOUNT_IDMAP = 54,
  /* idmap/ridmap bind mount in a container with its own user namespace
   * (MOUNT_ATTR_IDMAP must be set from the host's user namespace). The parent,
   * after the maps are written, does open_tree(source, OPEN_TREE_CLONE
   * [|AT_RECURSIVE if tree]) + mount_setattr(MOUNT_ATTR_IDMAP [AT_RECURSIVE if
   * idmap_recursive], userns_fd = userns, else /proc/<init>/ns/user) and sends
   * the fd as MSG_MOUNT_FD. The helper recvmsg()s the next MSG_MOUNT_FD from
   * the sync socket and move_mount()s it onto dest (created per kind). Other
   * flags (ro, nosuid, ...) follow as OP_MOUNT_SETATTR ops.
   * fields: dest, kind ("dir"/"file"), then for the parent and error
   * messages only: source, tree ("0"/"1"), idmap_recursive ("0"/"1"),
   * userns (path of a joined user namespace, or empty), uid_map, gid_map
   * (the mount's own mappings as "containerID hostID size\n" lines when they
   * differ from the container's: the parent then idmaps with a temporary user
   * namespace holding exactly those, as runc 1.2; empty otherwise). */
  OP_MOUNT_TREE_FD = 55,
};

/* 60-79: the rest of the process and linux fields (addon/init/extras.c). */
enum tsrun_op_extras {
  /* unshare(CLONE_NEWTIME), then write each line of offsets (possibly empty)
   * to /proc/self/timens_offsets: "monotonic|boottime <secs> <nanosecs>".
   * Only time_for_children changes; OP_EXEC's execve enters the namespace.
   * The builder leaves CLONE_NEWTIME out of the clone flags (a cloned child
   * is already inside, and offsets are frozen once a process is). Put it
   * right after the OP_SETNS joins (a joined user ns then owns it).
   * fields: offsets */
  OP_TIMENS = 60,
  /* personality(persona). fields: persona (decimal: PER_LINUX, PER_LINUX32) */
  OP_PERSONALITY = 61,
  /* sched_setattr(0, attr, 0). fields: policy, flags, nice, priority,
   * runtime, deadline, period (decimal; nice signed). Before OP_IDENTITY
   * (raising the priority needs CAP_SYS_NICE). */
  OP_SCHEDULER = 62,
  /* ioprio_set(IOPRIO_WHO_PROCESS, 0, value). fields: value
   * (class << 13 | level). Before OP_IDENTITY. */
  OP_IOPRIO = 63,
  /* set_mempolicy(mode, nodemask, maxnode). fields: mode (MPOL_* | MPOL_F_*,
   * decimal), nodes ("0-3,7"; empty = NULL mask). */
  OP_MEMPOLICY = 64,
  /* sched_setaffinity(0, cpus). fields: cpus ("0-3,7"). For an exec'd
   * process's execCPUAffinity (the spec exempts the container's init). */
  OP_CPU_AFFINITY = 65,
  /* Label for the next execve: apparmor writes "exec <label>" to
   * /proc/self/attr/apparmor/exec (else attr/exec); selinux writes <label>
   * to /proc/self/attr/exec. After pivot (the container's /proc), before
   * OP_IDENTITY. fields: lsm ("apparmor"|"selinux"), label */
  OP_LSM_EXEC_LABEL = 66,
};

/* 80-89: a container without a mount namespace (addon/init/rootfs.c). */
enum tsrun_op_nomntns {
  /* chroot(path) + chdir("/"): the container's root when there is no mount
   * namespace to pivot in (runc chroots then too). Nothing is mounted: the
   * caller's mount table is never changed. create: the rootfs; exec:
   * /proc/<init pid>/root. fields: path */
  OP_CHROOT = 80,
};

/* 90-99: the executable and the environment, resolved inside the container
 * (addon/init/lookpath.c), as runc's init does. */
enum tsrun_op_process {
  /* Look args[0] up the way runc's init does (Go's exec.LookPath, then
   * eaccess): in the container's root and cwd, as the process's user, so
   * after OP_CHDIR and OP_IDENTITY and before OP_READY (a missing command
   * fails `create`, not `start`). A name with a '/' is used as is (relative
   * to the cwd); otherwise each entry of path_env is tried in order ("" is
   * "."), a match in a relative entry being refused. Found: a non-directory
   * with an execute bit (stat follows links), then faccessat(X_OK,
   * AT_EACCESS). The result is kept for OP_EXEC with an empty path.
   * Errors carry runc's exact wording, on which callers (Docker: 127/126)
   * match:  exec: "<name>": stat <name>: no such file or directory
   *         exec: "<name>": permission denied        (directory, no x bit)
   *         exec: "<name>": executable file not found in $PATH
   *         exec: "<name>": cannot run executable found relative to current directory
   *         <eaccess_op> <path>: permission denied   (faccessat)
   * fields: name, path_env (PATH's value; empty = nothing is searched),
   * eaccess_op ("exec" for create, "eaccess" for exec, as runc words them). */
  OP_LOOKPATH = 90,
  /* HOME from the container's /etc/passwd (a regular file, read after
   * pivot_root / setns(mnt)): the home field of the first entry with this
   * uid, else "/". OP_EXEC appends "HOME=<home>" to the process's env. The
   * builder plans it only when process.env has no HOME (runc). Before
   * OP_IDENTITY (the file may be readable by root only). fields: uid */
  OP_HOME = 91,
};

#endif
