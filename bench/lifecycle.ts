/**
 * Lifecycle benchmark: tsrun vs runc vs crun on the same busybox bundle
 * (args ['/bin/true']), plus tsrun's per-command cost against `node -e 0`.
 *
 *   node dist/bench/lifecycle.js [--runs N] [--runtime tsrun,runc,crun] [--userns]
 *
 * --userns: the bundle gets a new user namespace (root mapped to 100000, 65536 ids).
 *
 * Method (shared/reference/performance.md): ratios measured side by side in
 * one run, interleaved round-robin, medians; NODE_EXTRA_CA_CERTS and
 * NODE_OPTIONS unset for every child. crun runs through its hybrid-cgroup
 * wrapper (`unshare -m sh -c 'umount …; exec crun'`), whose own cost is
 * measured and shown separately.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { makeBundle } from '../src/bundle/busybox';
import { cleanEnv, cleanupRuntime, invoke, makeRuntime, Runtime } from '../conformance/runtimes';

function parse(argv: string[]): { runs: number; runtimes: string[]; userns: boolean } {
  let runs = 15;
  let userns = false;
  let runtimes = ['tsrun', 'runc', 'crun'];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--runs') runs = Number(argv[++i]);
    else if (a.startsWith('--runs=')) runs = Number(a.slice(7));
    else if (a === '--runtime') runtimes = argv[++i].split(',');
    else if (a.startsWith('--runtime=')) runtimes = a.slice(10).split(',');
    else if (a === '--userns') userns = true;
    else throw new Error(`unknown argument ${a}; usage: [--runs N] [--runtime tsrun,runc,crun] [--userns]`);
  }
  if (!Number.isInteger(runs) || runs < 1) throw new Error('--runs must be a positive integer');
  return { runs, runtimes, userns };
}

const median = (xs: number[]): number => {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const ms = (x: number): string => (Number.isFinite(x) ? x.toFixed(1) : '—');
const ratio = (a: number, b: number): string => (Number.isFinite(a) && Number.isFinite(b) && b > 0 ? (a / b).toFixed(2) : '—');

function now(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}

/** Times one runtime invocation; throws on failure when `mustSucceed`. */
function timed(rt: Runtime, args: string[], mustSucceed = true, stdio?: [number | 'ignore', number | 'pipe', number | 'pipe']): number {
  const t0 = now();
  const r = invoke(rt, args, stdio ? { stdio } : {});
  const t = now() - t0;
  if (mustSucceed && r.status !== 0) throw new Error(`${rt.name} ${args.join(' ')}: exit ${r.status}: ${r.stderr.trim().slice(0, 300)}`);
  return t;
}

function timedNode(): number {
  const t0 = now();
  const r = spawnSync(process.execPath, ['-e', '0'], { env: cleanEnv(), stdio: 'ignore' });
  if (r.status !== 0) throw new Error('node -e 0 failed');
  return now() - t0;
}

function timedShellWrapper(): number {
  const t0 = now();
  spawnSync('unshare', ['-m', '/bin/sh', '-c', 'umount /sys/fs/cgroup/unified 2>/dev/null; exec true'], { env: cleanEnv(), stdio: 'ignore' });
  return now() - t0;
}

function stateOf(rt: Runtime, id: string): { status: string; pid?: number } {
  const r = invoke(rt, ['state', id]);
  if (r.status !== 0) throw new Error(`${rt.name} state ${id}: ${r.stderr.trim().slice(0, 200)}`);
  return JSON.parse(r.stdout);
}

let seq = 0;
const newId = (rt: Runtime): string => `bench-${rt.name}-${process.pid}-${++seq}`;

interface Ctx {
  rt: Runtime;
  bundle: string;
  devnull: number;
}

/** create → start → wait (poll state until stopped) → delete; returns ms, deletes in a finally. */
const callCounts = new Map<string, number[]>();
/** `create` alone, per runtime (part of each lifecycle). */
const createTimes = new Map<string, number[]>();

function lifecycle(c: Ctx): number {
  const id = newId(c.rt);
  let calls = 3;
  const t0 = now();
  try {
    const tc = timed(c.rt, ['create', '--bundle', c.bundle, id], true, ['ignore', c.devnull, c.devnull]);
    if (!createTimes.has(c.rt.name)) createTimes.set(c.rt.name, []);
    createTimes.get(c.rt.name)!.push(tc);
    timed(c.rt, ['start', id]);
    const deadline = Date.now() + 10_000;
    while ((calls++, stateOf(c.rt, id).status !== 'stopped')) {
      if (Date.now() > deadline) throw new Error(`${c.rt.name}: ${id} did not stop`);
    }
    timed(c.rt, ['delete', id]);
    const t = now() - t0;
    if (!callCounts.has(c.rt.name)) callCounts.set(c.rt.name, []);
    callCounts.get(c.rt.name)!.push(calls);
    return t;
  } finally {
    invoke(c.rt, ['delete', '--force', id]);
  }
}

/** VmRSS (KiB) of a created, not started, init. */
function waitingInitRss(c: Ctx): number {
  const id = newId(c.rt);
  try {
    timed(c.rt, ['create', '--bundle', c.bundle, id], true, ['ignore', c.devnull, c.devnull]);
    const pid = stateOf(c.rt, id).pid!;
    const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : NaN;
  } finally {
    invoke(c.rt, ['delete', '--force', id]);
  }
}

function table(rows: string[][]): string {
  const w = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows.map((r) => r.map((c, i) => (i === 0 ? c.padEnd(w[i]) : c.padStart(w[i]))).join('  ')).join('\n');
}

function main(): void {
  const { runs, runtimes: names, userns } = parse(process.argv.slice(2));
  if (process.getuid?.() !== 0) throw new Error('must run as root');
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'tsrun-bench-'));
  if (userns) fs.chmodSync(work, 0o755); // the container's root (host uid 100000) walks to the rootfs
  const devnull = fs.openSync('/dev/null', 'w');
  const runtimes = names.map(makeRuntime);
  const ctxs: Ctx[] = [];
  try {
    for (const rt of runtimes) {
      if (rt.absent) {
        console.log(`${rt.name}: absent (${rt.absent})`);
        continue;
      }
      const bundle = path.join(work, `bundle-${rt.name}`);
      makeBundle(bundle, {
        args: ['/bin/true'],
        terminal: false,
        edit: (c) => {
          if (userns) {
            c.linux.namespaces.push({ type: 'user' });
            c.linux.uidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
            c.linux.gidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
          }
          rt.adaptConfig?.(c);
        },
      });
      ctxs.push({ rt, bundle, devnull });
    }
    // Warm-up, and drop runtimes that cannot run a container at all.
    const usable: Ctx[] = [];
    for (const c of ctxs) {
      try {
        lifecycle(c);
        usable.push(c);
      } catch (e) {
        console.log(`${c.rt.name}: cannot run the lifecycle: ${(e as Error).message}`);
      }
    }
    console.log(`node ${process.version}, ${runs} runs, interleaved${userns ? ', new user namespace' : ''}; NODE_EXTRA_CA_CERTS and NODE_OPTIONS unset\n`);

    // 1. Lifecycles, round-robin (rotating the starting runtime each round).
    const life = new Map<string, number[]>(usable.map((c) => [c.rt.name, []]));
    const floor: number[] = [];
    const wrapper: number[] = [];
    for (let i = 0; i < runs; i++) {
      for (let k = 0; k < usable.length; k++) {
        const c = usable[(i + k) % usable.length];
        life.get(c.rt.name)!.push(lifecycle(c));
      }
      floor.push(timedNode());
      wrapper.push(timedShellWrapper());
    }
    const med = (n: string): number => median(life.get(n) ?? []);
    const rows: string[][] = [['lifecycle create→start→wait→delete', 'median ms', 'vs runc', 'vs crun', 'calls']];
    for (const c of usable) rows.push([c.rt.name, ms(med(c.rt.name)), ratio(med(c.rt.name), med('runc')), ratio(med(c.rt.name), med('crun')), String(median(callCounts.get(c.rt.name) ?? []))]);
    if (life.has('crun')) {
      const adj = med('crun') - median(callCounts.get('crun') ?? []) * median(wrapper);
      rows.push(['crun minus its wrapper (estimate)', ms(adj), ratio(adj, med('runc')), '', '']);
    }
    const cmed = (n: string): number => median(createTimes.get(n)?.slice(1) ?? []); // without the warm-up
    for (const c of usable) rows.push([`${c.rt.name} create alone`, ms(cmed(c.rt.name)), ratio(cmed(c.rt.name), cmed('runc')), ratio(cmed(c.rt.name), cmed('crun')), '']);
    rows.push(['node -e 0 (floor)', ms(median(floor)), '', '', '']);
    rows.push(['crun wrapper alone (unshare+sh), per call', ms(median(wrapper)), '', '', '']);
    console.log(table(rows) + '\n');

    // 2. RSS of a waiting (created, not started) init.
    const rssRows: string[][] = [['waiting init (created)', 'VmRSS KiB']];
    for (const c of usable) {
      try {
        rssRows.push([c.rt.name, String(waitingInitRss(c))]);
      } catch (e) {
        rssRows.push([c.rt.name, `error: ${(e as Error).message.slice(0, 80)}`]);
      }
    }
    console.log(table(rssRows) + '\n');

    // 3. Per-command costs, each paired with a `node -e 0` measured right before it.
    for (const c of usable) {
      const cmdRows: string[][] = [[`${c.rt.name} command`, 'median ms', 'node -e 0 ms', 'ratio (pairwise median)']];
      const stateId = newId(c.rt);
      try {
        timed(c.rt, ['create', '--bundle', c.bundle, stateId], true, ['ignore', devnull, devnull]);
        const cmds: { name: string; run: () => number }[] = [
          { name: 'state <created>', run: () => timed(c.rt, ['state', stateId]) },
          {
            name: 'start <created>',
            run: () => {
              const id = newId(c.rt);
              try {
                timed(c.rt, ['create', '--bundle', c.bundle, id], true, ['ignore', devnull, devnull]);
                return timed(c.rt, ['start', id]);
              } finally {
                invoke(c.rt, ['delete', '--force', id]);
              }
            },
          },
          { name: 'kill <missing> KILL', run: () => timed(c.rt, ['kill', `missing-${process.pid}`, 'KILL'], false) },
          { name: 'delete --force <missing>', run: () => timed(c.rt, ['delete', '--force', `missing-${process.pid}`]) },
          { name: '--version', run: () => timed(c.rt, ['--version']) },
        ];
        for (const cmd of cmds) {
          const t: number[] = [];
          const n: number[] = [];
          const r: number[] = [];
          try {
            for (let i = 0; i < runs; i++) {
              const base = timedNode();
              const x = cmd.run();
              t.push(x);
              n.push(base);
              r.push(x / base);
            }
            cmdRows.push([cmd.name, ms(median(t)), ms(median(n)), median(r).toFixed(2)]);
          } catch (e) {
            cmdRows.push([cmd.name, 'error', '', (e as Error).message.slice(0, 80)]);
          }
        }
      } finally {
        invoke(c.rt, ['delete', '--force', stateId]);
      }
      console.log(table(cmdRows) + '\n');
    }
  } finally {
    fs.closeSync(devnull);
    for (const rt of runtimes) cleanupRuntime(rt);
    fs.rmSync(work, { recursive: true, force: true });
  }
}

try {
  main();
} catch (e) {
  console.error(`bench: ${(e as Error).message}`);
  process.exitCode = 1;
}
