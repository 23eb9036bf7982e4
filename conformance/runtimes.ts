/**
 * How to invoke each runtime under test. Every runtime gets its own private
 * temporary `--root` so that the suite never sees (or disturbs) containers of
 * the host's real runtimes.
 */
import { spawnSync, SpawnSyncReturns } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export interface Runtime {
  name: string;
  /** argv prefix; global flags and the command follow. */
  argv: string[];
  /** Temporary state directory passed as --root. */
  root: string;
  /** Undefined when usable; otherwise why the runtime is absent on this machine. */
  absent?: string;
  /**
   * Runtime-specific adjustment of an otherwise identical config.json.
   * Only used for crun 1.8, which rejects ociVersion 1.3.0 ("unknown version specified").
   */
  adaptConfig?: (config: Record<string, any>) => void;
}

export interface RunResult {
  status: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
  error?: Error;
}

/** Environment for every runtime invocation: no CA bundle parsing, no injected Node code. */
export function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ...extra };
  delete env.NODE_EXTRA_CA_CERTS;
  delete env.NODE_OPTIONS;
  return env;
}

export function which(cmd: string): string | undefined {
  for (const dir of (process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin').split(':').concat(['/usr/sbin', '/sbin'])) {
    const p = path.join(dir, cmd);
    try {
      fs.accessSync(p, fs.constants.X_OK);
      return p;
    } catch {
      /* next */
    }
  }
  return undefined;
}

/** The repository root (this file is dist/conformance/runtimes.js once compiled). */
export const REPO_ROOT = path.resolve(__dirname, '..', '..');
export const TSRUN_BIN = path.join(REPO_ROOT, 'bin', 'tsrun');

/**
 * crun 1.8 refuses to run on a hybrid cgroup layout while /sys/fs/cgroup/unified
 * is mounted; run it in a private mount namespace without that mount. Its
 * state lives under --root, an ordinary directory, so create/start/delete in
 * separate namespaces see the same containers.
 */
const CRUN_WRAPPER = 'umount /sys/fs/cgroup/unified 2>/dev/null; exec crun "$@"';

function tmpRoot(name: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `conf-root-${name}-`));
}

export function makeRuntime(name: string): Runtime {
  switch (name) {
    case 'tsrun': {
      const main = path.join(REPO_ROOT, 'dist', 'src', 'cli', 'main.js');
      const absent = !fs.existsSync(TSRUN_BIN)
        ? `${TSRUN_BIN} missing`
        : !fs.existsSync(main)
          ? `${main} not built`
          : undefined;
      return { name, argv: [TSRUN_BIN], root: absent ? '' : tmpRoot(name), absent };
    }
    case 'runc': {
      const bin = which('runc');
      return { name, argv: bin ? [bin] : [], root: bin ? tmpRoot(name) : '', absent: bin ? undefined : 'runc not installed' };
    }
    case 'crun': {
      const bin = which('crun');
      const unshare = which('unshare');
      const absent = !bin ? 'crun not installed' : !unshare ? 'unshare not installed' : undefined;
      return {
        name,
        // Private propagation (unshare's default for -m, stated): the umount never reaches the host.
        argv: absent ? [] : [unshare!, '-m', '--propagation', 'private', '/bin/sh', '-c', CRUN_WRAPPER, 'sh'],
        root: absent ? '' : tmpRoot(name),
        absent,
        adaptConfig: (c) => {
          if (typeof c.ociVersion === 'string' && !/^1\.[01]\./.test(c.ociVersion)) c.ociVersion = '1.1.0';
        },
      };
    }
    default:
      throw new Error(`unknown runtime ${name} (known: tsrun, runc, crun)`);
  }
}

export const ALL_RUNTIMES = ['tsrun', 'runc', 'crun'];

export interface InvokeOptions {
  /** File descriptors for the runtime's stdout/stderr (e.g. create, whose stdio the container inherits). */
  stdio?: [number | 'ignore', number | 'pipe', number | 'pipe'];
  timeoutMs?: number;
}

/** Runs `<runtime> --root R <args…>` synchronously. */
export function invoke(rt: Runtime, args: string[], opts: InvokeOptions = {}): RunResult {
  const argv = [...rt.argv, '--root', rt.root, ...args];
  const r: SpawnSyncReturns<string> = spawnSync(argv[0], argv.slice(1), {
    encoding: 'utf8',
    env: cleanEnv(),
    stdio: opts.stdio ?? ['ignore', 'pipe', 'pipe'],
    timeout: opts.timeoutMs ?? 30_000,
    killSignal: 'SIGKILL',
  });
  return {
    status: r.status,
    signal: r.signal,
    stdout: r.stdout ?? '',
    stderr: r.stderr ?? '',
    error: r.error,
  };
}

export function cleanupRuntime(rt: Runtime): void {
  if (!rt.root) return;
  try {
    fs.rmSync(rt.root, { recursive: true, force: true });
  } catch {
    /* best effort */
  }
}
