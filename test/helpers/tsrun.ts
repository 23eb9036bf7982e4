/** Drives bin/tsrun against a private --root, and cleans up whatever a test started. */
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { makeBundle, type BundleOptions } from '../../src/bundle/busybox';

export const REPO = path.resolve(__dirname, '../../..');
export const TSRUN = path.join(REPO, 'bin/tsrun');

export interface Result {
  status: number;
  stdout: string;
  stderr: string;
  /** The signal that ended the process, if any (status is then 128+9). */
  signal?: NodeJS.Signals | null;
}

export class Sandbox {
  readonly dir: string;
  readonly root: string;
  private ids = new Set<string>();
  private counter = 0;

  constructor(prefix = 'tsrun-test-') {
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
    this.root = path.join(this.dir, 'state');
  }

  /** Runs `tsrun --root <root> ...args`; stdio to files so a container never holds our pipes. */
  tsrun(args: string[], opts: { input?: string; timeoutMs?: number; globals?: string[] } = {}): Result {
    return this.exec([TSRUN, '--root', this.root, ...(opts.globals ?? []), ...args], opts);
  }

  exec(argv: string[], opts: { input?: string; timeoutMs?: number; env?: NodeJS.ProcessEnv } = {}): Result {
    const n = this.counter++;
    const out = path.join(this.dir, `out.${n}`);
    const err = path.join(this.dir, `err.${n}`);
    const fo = fs.openSync(out, 'w');
    const fe = fs.openSync(err, 'w');
    let r: SpawnSyncReturns<Buffer>;
    try {
      r = spawnSync(argv[0], argv.slice(1), {
        stdio: [opts.input === undefined ? 'ignore' : 'pipe', fo, fe],
        input: opts.input,
        timeout: opts.timeoutMs ?? 30_000,
        env: { ...cleanEnv(), ...opts.env },
      });
    } finally {
      fs.closeSync(fo);
      fs.closeSync(fe);
    }
    return { status: r.status ?? 128 + 9, stdout: fs.readFileSync(out, 'utf8'), stderr: fs.readFileSync(err, 'utf8'), signal: r.signal };
  }

  id(name = 'c'): string {
    const id = `${name}-${process.pid}-${this.counter++}`;
    this.ids.add(id);
    return id;
  }

  bundle(opts: BundleOptions = {}): string {
    const dir = path.join(this.dir, `bundle-${this.counter++}`);
    makeBundle(dir, opts);
    return dir;
  }

  state(id: string): Record<string, any> {
    const r = this.tsrun(['state', id]);
    if (r.status !== 0) throw new Error(`state ${id} failed: ${r.stderr}`);
    return JSON.parse(r.stdout);
  }

  /** Polls state until the status is `want`. */
  waitStatus(id: string, want: string, timeoutMs = 10_000): void {
    const end = Date.now() + timeoutMs;
    let last = '';
    while (Date.now() < end) {
      last = this.state(id).status;
      if (last === want) return;
      sleep(20);
    }
    throw new Error(`container ${id} stayed ${last}, wanted ${want}`);
  }

  cleanup(): void {
    for (const id of this.ids) this.tsrun(['delete', '--force', id]);
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

export function sleep(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

export function cleanEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.NODE_OPTIONS;
  delete env.NODE_EXTRA_CA_CERTS;
  return env;
}

export function isRoot(): boolean {
  return process.getuid?.() === 0;
}
