/**
 * Drives one case against one runtime the way runtime-tools' harness does:
 * `create --bundle B --pid-file P <id>` with stdout/stderr redirected to files
 * in the case directory, `start`, `state` (JSON), `kill <id> SIG`, `delete
 * [--force]`. Every container is deleted with --force in a finally.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { makeBundle } from '../src/bundle/busybox';
import { invoke, RunResult, Runtime } from './runtimes';

export interface OciState {
  ociVersion: string;
  id: string;
  status: string;
  pid?: number;
  bundle: string;
  annotations?: Record<string, string>;
}

export class CheckError extends Error {}

/**
 * Thrown by a case that cannot run on this host (a controller, hugepage size
 * or kernel feature it needs is absent): status "skip" with the reason, not a
 * failure. The reason names what the host lacks.
 */
export class SkipCase extends Error {}

/** Throws SkipCase(reason) when reason is defined (pairs with test/helpers/host.ts' needs.*). */
export function skipUnless(reason: string | undefined): void {
  if (reason !== undefined) throw new SkipCase(reason);
}

export function check(cond: unknown, msg: string): asserts cond {
  if (!cond) throw new CheckError(msg);
}

/** True while `pid` exists on the host and is not a zombie. */
export function hostPidRunning(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

export function sleepMs(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

let seq = 0;

function describe(r: RunResult): string {
  // Keep the informative lines: drop stack frames, Node's version footer, source excerpts.
  const all = (r.stderr || r.error?.message || '').split('\n').map((l) => l.trim());
  const useful = all.filter((l) => l && !/^at /.test(l) && !/^Node\.js v/.test(l) && !/^\^+$/.test(l));
  const errLines = useful.filter((l) => /error/i.test(l));
  const err = (errLines.length ? errLines.slice(0, 2) : useful.slice(-2)).join(' | ');
  return `exit ${r.status}${r.signal ? ` (${r.signal})` : ''}${err ? `: ${err.slice(0, 300)}` : ''}`;
}

export interface BundleSpec {
  args?: string[];
  edit?: (config: Record<string, any>) => void;
}

export class Harness {
  readonly dir: string;
  readonly bundle: string;
  readonly pidFile: string;
  readonly outFile: string;
  readonly errFile: string;
  /** Ids this harness created or tried to create; all are force-deleted in cleanup(). */
  private readonly ids = new Set<string>();
  readonly id: string;

  constructor(readonly rt: Runtime, caseName: string) {
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), `conf-${rt.name}-`));
    this.bundle = path.join(this.dir, 'bundle');
    this.pidFile = path.join(this.dir, 'init.pid');
    this.outFile = path.join(this.dir, 'stdout');
    this.errFile = path.join(this.dir, 'stderr');
    this.id = this.newId(caseName);
  }

  /** A container id unique to this run and case. */
  newId(tag = 'c'): string {
    const id = `conf-${tag.replace(/[^a-zA-Z0-9_.-]/g, '-').slice(0, 30)}-${process.pid}-${++seq}`;
    return id;
  }

  /** Writes the bundle (busybox rootfs + config.json), applying the case edit and the runtime's adaptation. */
  makeBundle(spec: BundleSpec = {}, dir = this.bundle): Record<string, any> {
    return makeBundle(dir, {
      args: spec.args ?? ['true'],
      terminal: false,
      edit: (c) => {
        spec.edit?.(c);
        this.rt.adaptConfig?.(c);
      },
    });
  }

  run(args: string[]): RunResult {
    return invoke(this.rt, args);
  }

  /** `create`; throws unless it succeeds. */
  create(id = this.id, bundle = this.bundle, pidFile: string | undefined = this.pidFile): RunResult {
    const r = this.tryCreate(id, bundle, pidFile);
    check(r.status === 0, `create ${id} failed: ${describe(r)}`);
    return r;
  }

  /** `create` with stdout/stderr going to files, as a caller hands the container its stdio. */
  tryCreate(id = this.id, bundle = this.bundle, pidFile: string | undefined = this.pidFile, extra: string[] = []): RunResult {
    this.ids.add(id);
    const out = fs.openSync(this.outFile, 'a');
    const err = fs.openSync(this.errFile, 'a');
    try {
      const args = ['create', '--bundle', bundle];
      if (pidFile) args.push('--pid-file', pidFile);
      args.push(...extra, id);
      const r = invoke(this.rt, args, { stdio: ['ignore', out, err] });
      return { ...r, stderr: this.stderr() };
    } finally {
      fs.closeSync(out);
      fs.closeSync(err);
    }
  }

  start(id = this.id): RunResult {
    const r = this.run(['start', id]);
    check(r.status === 0, `start ${id} failed: ${describe(r)}`);
    return r;
  }

  /** `state`; throws unless it succeeds and prints a valid state object. */
  state(id = this.id): OciState {
    const r = this.run(['state', id]);
    check(r.status === 0, `state ${id} failed: ${describe(r)}`);
    let s: OciState;
    try {
      s = JSON.parse(r.stdout);
    } catch {
      throw new CheckError(`state ${id}: stdout is not JSON: ${JSON.stringify(r.stdout.slice(0, 200))}`);
    }
    check(s && typeof s === 'object', 'state: not an object');
    check(s.id === id, `state: id ${JSON.stringify(s.id)} != ${id}`);
    check(typeof s.ociVersion === 'string', 'state: ociVersion missing');
    check(['creating', 'created', 'running', 'stopped'].includes(s.status), `state: bad status ${JSON.stringify(s.status)}`);
    check(typeof s.bundle === 'string' && path.isAbsolute(s.bundle), `state: bundle ${JSON.stringify(s.bundle)} not absolute`);
    return s;
  }

  kill(signal: string, id = this.id): RunResult {
    const r = this.run(['kill', id, signal]);
    check(r.status === 0, `kill ${id} ${signal} failed: ${describe(r)}`);
    return r;
  }

  delete(id = this.id, force = false): RunResult {
    const r = this.run(force ? ['delete', '--force', id] : ['delete', id]);
    check(r.status === 0, `delete ${force ? '--force ' : ''}${id} failed: ${describe(r)}`);
    return r;
  }

  /** Polls `state` until the status is stopped (bounded). */
  waitStopped(id = this.id, timeoutMs = 15_000): OciState {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const s = this.state(id);
      if (s.status === 'stopped') return s;
      check(Date.now() < deadline, `container ${id} still ${s.status} after ${timeoutMs} ms`);
      sleepMs(25);
    }
  }

  /** Waits until the container's stdout file contains `text` (bounded). */
  waitOutput(text: string, timeoutMs = 10_000): string {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const out = this.stdout();
      if (out.includes(text)) return out;
      check(Date.now() < deadline, `no ${JSON.stringify(text)} on stdout after ${timeoutMs} ms; stdout=${JSON.stringify(out.slice(0, 300))} stderr=${JSON.stringify(this.stderr().slice(0, 300))}`);
      sleepMs(25);
    }
  }

  stdout(): string {
    try {
      return fs.readFileSync(this.outFile, 'utf8');
    } catch {
      return '';
    }
  }

  stderr(): string {
    try {
      return fs.readFileSync(this.errFile, 'utf8');
    } catch {
      return '';
    }
  }

  /** The usual probe: bundle running `sh -c script`, create → start → wait stopped → delete; returns stdout. */
  probe(script: string, edit?: (config: Record<string, any>) => void): string {
    this.makeBundle({ args: ['sh', '-c', script], edit });
    this.create();
    this.start();
    this.waitStopped();
    this.delete();
    return this.stdout();
  }

  /** Force-deletes every container this harness touched and removes the case directory. */
  cleanup(): void {
    for (const id of this.ids) {
      try {
        this.run(['delete', '--force', id]);
      } catch {
        /* keep cleaning */
      }
    }
    try {
      fs.rmSync(this.dir, { recursive: true, force: true });
    } catch {
      /* best effort */
    }
  }
}

export interface Case {
  name: string;
  /** What the spec (or the caller contract) promises; shown with --list. */
  description: string;
  run(h: Harness): void;
  /** Runtimes this case does not apply to (runtime name → why, e.g. a field it predates); reported "n/a". */
  notApplicable?: Partial<Record<string, string>>;
  /** Removes what the case left on the host besides its containers (after they are deleted). */
  cleanup?(): void;
}

export interface CaseResult {
  runtime: string;
  case: string;
  status: 'pass' | 'fail' | 'absent' | 'n/a' | 'skip';
  message?: string;
  ms: number;
}

export function runCase(rt: Runtime, c: Case): CaseResult {
  if (rt.absent) return { runtime: rt.name, case: c.name, status: 'absent', message: rt.absent, ms: 0 };
  const na = c.notApplicable?.[rt.name];
  if (na) return { runtime: rt.name, case: c.name, status: 'n/a', message: na, ms: 0 };
  const t0 = Date.now();
  const h = new Harness(rt, c.name);
  try {
    c.run(h);
    return { runtime: rt.name, case: c.name, status: 'pass', ms: Date.now() - t0 };
  } catch (e) {
    if (e instanceof SkipCase) return { runtime: rt.name, case: c.name, status: 'skip', message: e.message, ms: Date.now() - t0 };
    const msg = e instanceof Error ? e.message : String(e);
    const extra = e instanceof CheckError ? '' : ' (exception)';
    return { runtime: rt.name, case: c.name, status: 'fail', message: msg + extra, ms: Date.now() - t0 };
  } finally {
    h.cleanup();
    c.cleanup?.();
  }
}
