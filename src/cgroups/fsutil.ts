/**
 * cgroupfs file access. Every write names the controller and the path in
 * its error (rootless / undelegated hosts). Writes open the file without
 * O_CREAT (cgroupfs files are made by the kernel): a missing file is ENOENT
 * on the real filesystem and on the fake trees of the unit tests alike.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { TsrunError } from '../errors';

export interface TracedWrite {
  path: string;
  value: string;
}
let trace: TracedWrite[] | null = null;

/**
 * Dry run (`tsrun explain`, `create --dry-run`): the same writers run, their
 * writes are recorded instead of made. The container's directories do not
 * exist yet, so what a writer reads in one is answered as a new cgroup would:
 * a value written earlier in this run; for a file a new cgroup starts without
 * its parent's value (FRESH), that value; else the nearest existing
 * ancestor's file. On cgroup2 a new cgroup also has the interface files of
 * the controllers its parent offers (enabled down the path at create).
 */
interface DryRun {
  writes: TracedWrite[];
  values: Map<string, string>;
}
let dry: DryRun | null = null;

/** What a new cgroup holds where it does not inherit its parent's value. */
const FRESH: Readonly<Record<string, string>> = {
  'cpuset.cpus': '',
  'cpuset.mems': '',
  'cgroup.subtree_control': '',
  'cgroup.procs': '',
  tasks: '',
  // PAGE_COUNTER_MAX: a new v1 memory cgroup is unlimited.
  'memory.limit_in_bytes': '9223372036854771712',
  'memory.memsw.limit_in_bytes': '9223372036854771712',
};

/** Runs fn with every cgroup write recorded, not made; returns the writes in order. */
export function dryRunWrites(fn: () => void): TracedWrite[] {
  const saved = dry;
  const mine: DryRun = { writes: [], values: new Map() };
  dry = mine;
  try {
    fn();
  } finally {
    dry = saved;
  }
  return mine.writes;
}

/** Whether cgroup writes are only being recorded (dryRunWrites). */
export function isDryRun(): boolean {
  return dry !== null;
}

function nearestExisting(dir: string): string {
  let d = dir;
  while (!fs.existsSync(d) && path.dirname(d) !== d) d = path.dirname(d);
  return d;
}

/** Dry run: the value a read of dir/file sees (undefined: no such file). */
function dryRead(dir: string, file: string): string | undefined {
  const p = path.join(dir, file);
  const written = dry!.values.get(p);
  if (written !== undefined) return written;
  if (fs.existsSync(dir)) return readTrimmed(p);
  const parent = nearestExisting(dir);
  const inherited = readTrimmed(path.join(parent, file));
  if (file in FRESH && (inherited !== undefined || dryHas(dir, file))) return FRESH[file];
  return inherited;
}

/** Dry run: whether dir/file exists once dir is made. */
function dryHas(dir: string, file: string): boolean {
  if (dry!.values.has(path.join(dir, file))) return true;
  if (fs.existsSync(dir)) return fs.existsSync(path.join(dir, file));
  const parent = nearestExisting(dir);
  if (fs.existsSync(path.join(parent, file))) return true;
  // cgroup2: a child gets the interface files of every controller its parent offers.
  const offered = readTrimmed(path.join(parent, 'cgroup.controllers'));
  return offered !== undefined && offered.split(/\s+/).includes(file.split('.')[0]) && file.includes('.');
}

function readTrimmed(p: string): string | undefined {
  try {
    return fs.readFileSync(p, 'utf8').trim();
  } catch {
    return undefined;
  }
}

/** The names in a cgroup directory (a dry run: as a new cgroup would have them). */
export function cgList(dir: string): string[] {
  if (dry && !fs.existsSync(dir)) dir = nearestExisting(dir);
  return fs.readdirSync(dir);
}

/** Records an action on a cgroup that is no file write (a BPF program attached) where writes are traced or dry-run. */
export function cgNote(p: string, value: string): void {
  trace?.push({ path: p, value });
  dry?.writes.push({ path: p, value });
}

/** Runs fn and returns every cgroup file write it made, in order (tests). */
export function traceWrites(fn: () => void): TracedWrite[] {
  const saved = trace;
  const mine: TracedWrite[] = [];
  trace = mine;
  try {
    fn();
  } finally {
    trace = saved;
  }
  return mine;
}

function errnoText(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  if (err && typeof err.code === 'string') return `${err.code}: ${err.message.replace(/^[A-Z]+: /, '').replace(/, [a-z]+ '.*'$/, '')}`;
  return String(e);
}

/** Write `value` to `<dir>/<file>`; errors say which controller and path. */
export function cgWrite(controller: string, dir: string, file: string, value: string): void {
  const p = path.join(dir, file);
  trace?.push({ path: p, value });
  if (dry) {
    dry.writes.push({ path: p, value });
    dry.values.set(p, value);
    return;
  }
  try {
    const fd = fs.openSync(p, fs.constants.O_WRONLY | fs.constants.O_TRUNC);
    try {
      fs.writeSync(fd, value);
    } finally {
      fs.closeSync(fd);
    }
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new CgroupWriteError(`cannot set ${controller} limit: write ${JSON.stringify(value)} to ${p}: ${errnoText(e)}`, err?.code, {
      errno: err?.errno,
      syscall: err?.syscall ?? 'write',
      path: p,
    });
  }
}

/** The errno code of a cgWrite failure (ENOENT, EBUSY, EINVAL...), or undefined. */
export function errCode(e: unknown): string | undefined {
  if (e instanceof CgroupWriteError) return e.code;
  return (e as NodeJS.ErrnoException)?.code;
}

/** A failed cgroup file write; `code` is the errno name. */
export class CgroupWriteError extends TsrunError {
  constructor(
    message: string,
    readonly code: string | undefined,
    details: TsrunError['context'],
  ) {
    super(message, details);
  }
}

export function cgRead(dir: string, file: string): string {
  return fs.readFileSync(path.join(dir, file), 'utf8');
}

/** The file's trimmed content, or undefined when it can't be read. */
export function cgReadOpt(dir: string, file: string): string | undefined {
  if (dry) return dryRead(dir, file);
  try {
    return fs.readFileSync(path.join(dir, file), 'utf8').trim();
  } catch {
    return undefined;
  }
}

export function cgExists(dir: string, file: string): boolean {
  if (dry) return dryHas(dir, file);
  return fs.existsSync(path.join(dir, file));
}

/** Parses a cgroup uint64 ("max" → undefined); exact: bigint above 2^53. */
export function parseU64(s: string | undefined): number | bigint | undefined {
  if (s === undefined) return undefined;
  const t = s.trim();
  if (!/^\d+$/.test(t)) return undefined;
  const n = Number(t);
  return Number.isSafeInteger(n) ? n : BigInt(t);
}

/** `key value` lines (memory.stat, cpu.stat, memory.events ...). */
export function parseFlatKeyed(text: string | undefined): Record<string, number | bigint> {
  const out: Record<string, number | bigint> = {};
  if (!text) return out;
  for (const line of text.split('\n')) {
    const [k, v] = line.trim().split(/\s+/);
    if (!k || v === undefined) continue;
    const n = parseU64(v);
    if (n !== undefined) out[k] = n;
  }
  return out;
}

/** JSON.stringify that writes bigints as plain JSON numbers (uint64 values). */
export function stringifyU64(value: unknown): string {
  const marks: string[] = [];
  const s = JSON.stringify(value, (_k, v) => {
    if (typeof v === 'bigint') {
      marks.push(v.toString());
      return `\u0000U64:${marks.length - 1}\u0000`;
    }
    return v;
  });
  return s.replace(/"\\u0000U64:(\d+)\\u0000"/g, (_, i: string) => marks[Number(i)]);
}
