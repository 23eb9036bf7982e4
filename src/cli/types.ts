/** Global options, parsed before the command (runc's grammar). */
export interface Globals {
  root: string;
  log?: string;
  logFormat: 'text' | 'json';
  debug: boolean;
  /** --log-level (crun/youki); `warning` is normalised to `warn`. --debug implies debug. */
  logLevel?: 'debug' | 'info' | 'warn' | 'error';
  systemdCgroup: boolean;
  /** runc's --rootless true|false|auto (default auto). */
  rootless: 'true' | 'false' | 'auto';
  /** crun's --cgroup-manager cgroupfs|systemd|disabled (podman sends it). */
  cgroupManager?: 'cgroupfs' | 'systemd' | 'disabled';
}

/** Parsed command-line flags of one command, keyed by camelCase long name. */
export type Flags = Record<string, string | number | boolean | string[] | undefined>;

/** What a command module receives. */
export interface Invocation {
  globals: Globals;
  command: string;
  flags: Flags;
  /** Positional arguments after the command (the id comes first). */
  positionals: string[];
}

/** Every src/commands/<name>.ts exports `run` of this type; it returns the exit code. */
export type CommandRun = (inv: Invocation) => Promise<number> | number;
