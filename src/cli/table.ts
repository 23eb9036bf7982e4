/**
 * The one declarative description of tsrun's command line: global flags,
 * commands, their flags and positionals. The fast parser (argv.ts) and the
 * yargs help renderer (main.ts, loaded only for help) are both driven by it.
 *
 * Flag keys in `Flags` are the camelCase of the long name (`--pid-file` →
 * `pidFile`). Flags are spelled like runc's (urfave/cli): every long name may
 * also be given with one dash (`-bundle`, `-no-subreaper`), and `--x=v` works.
 */
import * as path from 'node:path';

export type FlagType = 'boolean' | 'string' | 'number' | 'string[]';

export interface FlagDef {
  /** Long name without dashes, e.g. "pid-file". */
  name: string;
  type: FlagType;
  /** One-letter (or other) aliases without dashes, e.g. ["b"]. */
  alias?: readonly string[];
  /** Default value; a function is evaluated lazily (e.g. --root). */
  default?: string | number | boolean | (() => string);
  /** Allowed values of a string flag (checked by the parser). */
  choices?: readonly string[];
  describe: string;
  /** Not shown in help. */
  hidden?: boolean;
}

export interface PositionalDef {
  name: string;
  describe: string;
  /** Takes all remaining arguments (exec's command, ps's ps-options). */
  variadic?: boolean;
  optional?: boolean;
}

export interface CommandDef {
  name: string;
  describe: string;
  flags: readonly FlagDef[];
  positionals: readonly PositionalDef[];
  /** Arity of positionals, as runc's checkArgs (max undefined = unbounded). */
  minArgs: number;
  maxArgs?: number;
  /**
   * Stop flag parsing at the first positional (runc's SkipArgReorder): the
   * arguments after the id belong to the process (exec) or to ps(1).
   * Otherwise flags may follow positionals (`delete <id> --force`).
   */
  stopAtFirstPositional?: boolean;
  /** Module under src/commands/ (defaults to name). */
  module?: string;
}

/** runc's default: /run/runc, or $XDG_RUNTIME_DIR/runc when not root and it is set. */
export function defaultRoot(): string {
  const uid = typeof process.getuid === 'function' ? process.getuid() : 0;
  const xdg = process.env.XDG_RUNTIME_DIR;
  if (uid !== 0 && xdg) return path.join(xdg, 'tsrun');
  return '/run/tsrun';
}

const BOOL = 'boolean' as const;
const STR = 'string' as const;
const NUM = 'number' as const;
const STRS = 'string[]' as const;

export const GLOBAL_FLAGS: readonly FlagDef[] = [
  { name: 'debug', type: BOOL, describe: 'enable debug logging' },
  { name: 'log', type: STR, describe: "set the log file to write tsrun logs to (default is '/dev/stderr')" },
  { name: 'log-format', type: STR, default: 'text', choices: ['text', 'json'], describe: "set the log format ('text' (default), or 'json')" },
  { name: 'log-level', type: STR, choices: ['debug', 'info', 'warn', 'warning', 'error'], describe: 'set the log level (default info; --debug implies debug)' },
  { name: 'root', type: STR, default: defaultRoot, describe: 'root directory for storage of container state (this should be located in tmpfs)' },
  { name: 'systemd-cgroup', type: BOOL, describe: 'enable systemd cgroup support, expects cgroupsPath to be of form "slice:prefix:name"' },
  { name: 'rootless', type: STR, default: 'auto', choices: ['true', 'false', 'auto'], describe: "ignore cgroup permission errors ('true', 'false', or 'auto')" },
  { name: 'cgroup-manager', type: STR, choices: ['cgroupfs', 'systemd', 'disabled'], describe: "cgroup manager ('cgroupfs', 'systemd' or 'disabled'), as crun's" },
  { name: 'version', type: BOOL, alias: ['v'], describe: 'print the version' },
  { name: 'help', type: BOOL, alias: ['h'], describe: 'show help' },
];

/** Added to every command by the parser, like urfave/cli. */
export const HELP_FLAG: FlagDef = { name: 'help', type: BOOL, alias: ['h'], describe: 'show help' };

const ID: PositionalDef = { name: 'container-id', describe: 'your name for the instance of the container' };

const BUNDLE: FlagDef = { name: 'bundle', type: STR, alias: ['b'], default: '.', describe: 'path to the root of the bundle directory' };
const CONSOLE_SOCKET: FlagDef = { name: 'console-socket', type: STR, describe: 'path to an AF_UNIX socket which will receive a file descriptor referencing the master end of the console\'s pseudoterminal' };
const PIDFD_SOCKET: FlagDef = { name: 'pidfd-socket', type: STR, describe: 'path to an AF_UNIX socket which will receive a file descriptor referencing the init process' };
const PID_FILE: FlagDef = { name: 'pid-file', type: STR, describe: 'specify the file to write the process id to' };
const PRESERVE_FDS: FlagDef = { name: 'preserve-fds', type: NUM, default: 0, describe: 'pass N additional file descriptors to the container (stdio + $LISTEN_FDS + N in total)' };

const FORMAT: FlagDef = { name: 'format', type: STR, alias: ['f'], default: 'text', choices: ['text', 'json'], describe: 'select one of: text or json' };

const CREATE_FLAGS: readonly FlagDef[] = [
  BUNDLE,
  CONSOLE_SOCKET,
  PIDFD_SOCKET,
  PID_FILE,
  { name: 'no-pivot', type: BOOL, describe: 'do not use pivot root to jail process inside rootfs' },
  { name: 'no-new-keyring', type: BOOL, describe: 'do not create a new session keyring for the container' },
  PRESERVE_FDS,
  { name: 'no-subreaper', type: BOOL, describe: 'disable the use of the subreaper used to reap reparented processes' },
];

export const COMMANDS: readonly CommandDef[] = [
  {
    name: 'create',
    describe: 'create a container',
    flags: [
      ...CREATE_FLAGS,
      { name: 'dry-run', type: BOOL, describe: 'print the plan create would execute and create nothing (as `tsrun explain`; tsrun only)' },
      FORMAT,
    ],
    positionals: [ID],
    minArgs: 1,
    maxArgs: 1,
  },
  {
    name: 'run',
    describe: 'create and run a container',
    flags: [
      ...CREATE_FLAGS,
      { name: 'detach', type: BOOL, alias: ['d'], describe: 'detach from the container\'s process' },
      { name: 'keep', type: BOOL, describe: 'do not delete the container after it exits' },
    ],
    positionals: [ID],
    minArgs: 1,
    maxArgs: 1,
  },
  { name: 'start', describe: 'executes the user defined process in a created container', flags: [], positionals: [ID], minArgs: 1, maxArgs: 1 },
  { name: 'state', describe: 'output the state of a container', flags: [], positionals: [ID], minArgs: 1, maxArgs: 1 },
  {
    name: 'kill',
    describe: 'kill sends the specified signal (default: SIGTERM) to the container\'s init process',
    flags: [{ name: 'all', type: BOOL, alias: ['a'], describe: '(obsoleted, do not use) send the signal to all processes in the container' }],
    positionals: [ID, { name: 'signal', describe: 'signal name or number (default SIGTERM)', optional: true }],
    minArgs: 1,
    maxArgs: 2,
  },
  {
    name: 'delete',
    describe: 'delete any resources held by the container often used with detached container',
    flags: [{ name: 'force', type: BOOL, alias: ['f'], describe: 'forcibly deletes the container if it is still running (uses SIGKILL)' }],
    positionals: [ID],
    minArgs: 1,
    maxArgs: 1,
  },
  {
    name: 'list',
    describe: 'lists containers started by tsrun with the given root',
    flags: [
      { name: 'format', type: STR, alias: ['f'], default: 'table', choices: ['table', 'json'], describe: 'select one of: table or json' },
      { name: 'quiet', type: BOOL, alias: ['q'], describe: 'display only container IDs' },
    ],
    positionals: [],
    minArgs: 0,
    maxArgs: 0,
  },
  {
    name: 'ps',
    describe: 'ps displays the processes running inside a container',
    flags: [{ name: 'format', type: STR, alias: ['f'], default: 'table', choices: ['table', 'json'], describe: 'select one of: table or json' }],
    positionals: [ID, { name: 'ps-options', describe: 'options passed to ps(1) (table format only)', variadic: true, optional: true }],
    minArgs: 1,
    stopAtFirstPositional: true,
  },
  {
    name: 'exec',
    describe: 'execute new process inside the container',
    flags: [
      CONSOLE_SOCKET,
      PIDFD_SOCKET,
      { name: 'cwd', type: STR, describe: 'current working directory in the container' },
      { name: 'env', type: STRS, alias: ['e'], describe: 'set environment variables' },
      { name: 'tty', type: BOOL, alias: ['t'], describe: 'allocate a pseudo-TTY' },
      { name: 'user', type: STR, alias: ['u'], describe: 'UID (format: <uid>[:<gid>])' },
      { name: 'additional-gids', type: STRS, alias: ['g'], describe: 'additional gids' },
      { name: 'process', type: STR, alias: ['p'], describe: 'path to the process.json' },
      { name: 'detach', type: BOOL, alias: ['d'], describe: 'detach from the container\'s process' },
      PID_FILE,
      { name: 'process-label', type: STR, describe: 'set the asm process label for the process commonly used with selinux' },
      { name: 'apparmor', type: STR, describe: 'set the apparmor profile for the process' },
      { name: 'no-new-privs', type: BOOL, describe: 'set the no new privileges value for the process' },
      { name: 'cap', type: STRS, alias: ['c'], describe: 'add a capability to the bounding set for the process' },
      PRESERVE_FDS,
      { name: 'cgroup', type: STRS, describe: 'run the process in an (existing) sub-cgroup(s). Format is [<controller>:]<cgroup>.' },
      { name: 'ignore-paused', type: BOOL, describe: 'allow exec in a paused container' },
    ],
    positionals: [ID, { name: 'command', describe: 'command and arguments (unless --process)', variadic: true, optional: true }],
    minArgs: 1,
    stopAtFirstPositional: true,
  },
  { name: 'pause', describe: 'pause suspends all processes inside the container', flags: [], positionals: [ID], minArgs: 1, maxArgs: 1 },
  { name: 'resume', describe: 'resumes all processes that have been previously paused', flags: [], positionals: [ID], minArgs: 1, maxArgs: 1 },
  {
    name: 'events',
    describe: 'display container events such as OOM notifications, cpu, memory, and IO usage statistics',
    flags: [
      { name: 'interval', type: STR, default: '5s', describe: 'set the stats collection interval' },
      { name: 'stats', type: BOOL, describe: 'display the container\'s stats then exit' },
    ],
    positionals: [ID],
    minArgs: 1,
    maxArgs: 1,
  },
  {
    name: 'update',
    describe: 'update container resource constraints',
    flags: [
      { name: 'resources', type: STR, alias: ['r'], describe: 'path to the file containing the resources to update or \'-\' to read from the standard input' },
      { name: 'blkio-weight', type: NUM, describe: 'specifies per cgroup weight, range is from 10 to 1000' },
      { name: 'cpu-period', type: STR, describe: 'CPU CFS period to be used for hardcapping (in usecs). 0 to use system default' },
      { name: 'cpu-quota', type: STR, describe: 'CPU CFS hardcap limit (in usecs). Allowed cpu time in a given period' },
      { name: 'cpu-share', type: STR, describe: 'CPU shares (relative weight vs. other containers)' },
      { name: 'cpu-rt-period', type: STR, describe: 'CPU realtime period to be used for hardcapping (in usecs). 0 to use system default' },
      { name: 'cpu-rt-runtime', type: STR, describe: 'CPU realtime hardcap limit (in usecs). Allowed cpu time in a given period' },
      { name: 'cpuset-cpus', type: STR, describe: 'CPU(s) to use' },
      { name: 'cpuset-mems', type: STR, describe: 'memory node(s) to use' },
      { name: 'cpu-idle', type: STR, describe: 'set cgroup SCHED_IDLE or not, 0: default behavior, 1: SCHED_IDLE' },
      { name: 'memory', type: STR, describe: 'memory limit (in bytes)' },
      { name: 'memory-reservation', type: STR, describe: 'memory reservation or soft_limit (in bytes)' },
      { name: 'memory-swap', type: STR, describe: 'total memory usage (memory + swap); set \'-1\' to enable unlimited swap' },
      { name: 'pids-limit', type: NUM, describe: 'maximum number of pids allowed in the container' },
      { name: 'l3-cache-schema', type: STR, describe: 'the string of Intel RDT/CAT L3 cache schema' },
      { name: 'mem-bw-schema', type: STR, describe: 'the string of Intel RDT/MBA memory bandwidth schema' },
    ],
    positionals: [ID],
    minArgs: 1,
    maxArgs: 1,
  },
  {
    name: 'spec',
    describe: 'create a new specification file',
    flags: [
      { name: 'bundle', type: STR, alias: ['b'], describe: 'path to the root of the bundle directory (default: the current directory)' },
      { name: 'rootless', type: BOOL, describe: 'generate a configuration for a rootless container' },
    ],
    positionals: [],
    minArgs: 0,
    maxArgs: 0,
  },
  { name: 'features', describe: 'show the enabled features', flags: [], positionals: [], minArgs: 0, maxArgs: 0 },
  {
    name: 'validate',
    describe: 'check a bundle\'s config.json: every schema, semantic and host problem at once (tsrun only)',
    flags: [
      { name: 'bundle', type: STR, alias: ['b'], default: '.', describe: 'path to the root of the bundle directory' },
      FORMAT,
    ],
    positionals: [],
    minArgs: 0,
    maxArgs: 0,
  },
  {
    name: 'explain',
    describe: 'print what create would do with a bundle (namespaces, mounts, cgroups, capabilities, seccomp, hooks, process) and create nothing (tsrun only)',
    flags: [BUNDLE, FORMAT],
    positionals: [{ ...ID, optional: true }],
    minArgs: 0,
    maxArgs: 1,
  },
];

const BY_NAME: Map<string, CommandDef> = new Map(COMMANDS.map((c) => [c.name, c]));

export function findCommand(name: string): CommandDef | undefined {
  return BY_NAME.get(name);
}

/** `pid-file` → `pidFile`. */
export function camel(name: string): string {
  return name.replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}
