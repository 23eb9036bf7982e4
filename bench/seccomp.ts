/**
 * What linux.seccomp costs create:
 *   1. in-process: compileSeccomp() (validation + libseccomp + BPF export) for
 *      a one-rule profile and Docker's default profile (3 archs, ~360 names),
 *      at libseccomp's optimize levels 1 (priority list, runc/crun's default)
 *      and 2 (binary tree, tsrun's default), first call (dlopen + kernel
 *      probe) reported separately;
 *   2. create wall time (create + delete --force per round) for a bundle
 *      without seccomp, with the small profile and with Docker's, interleaved
 *      round-robin, medians, on tsrun and, for reference, runc and crun.
 *
 *   node dist/bench/seccomp.js [--runs N] [--runtime tsrun,runc,crun]
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { makeBundle } from '../src/bundle/busybox';
import { compileSeccomp } from '../src/seccomp';
import { cleanupRuntime, invoke, makeRuntime, type Runtime } from '../conformance/runtimes';
import { dockerDefault } from '../conformance/cases/seccomp';

function parse(argv: string[]): { runs: number; runtimes: string[] } {
  let runs = 15;
  let runtimes = ['tsrun', 'runc', 'crun'];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--runs') runs = Number(argv[++i]);
    else if (a === '--runtime') runtimes = argv[++i].split(',');
    else throw new Error(`unknown argument ${a}; usage: [--runs N] [--runtime tsrun,runc,crun]`);
  }
  if (!Number.isInteger(runs) || runs < 1) throw new Error('--runs must be a positive integer');
  return { runs, runtimes };
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

const SMALL = { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_ERRNO', errnoRet: 13 }] };

function compileBench(runs: number): void {
  const t0 = performance.now();
  compileSeccomp(SMALL);
  const first = performance.now() - t0;
  console.log(`compileSeccomp, in process (${runs * 4} runs each; first call incl. dlopen + kernel probe: ${first.toFixed(2)} ms)`);
  console.log('profile            optimize  instructions  median ms');
  for (const [name, profile] of [['one rule', SMALL], ['docker default', dockerDefault()]] as const) {
    for (const optimize of [1, 2]) {
      const times: number[] = [];
      let insns = 0;
      for (let i = 0; i < runs * 4; i++) {
        const t = performance.now();
        insns = compileSeccomp(profile as never, { optimize }).instructions;
        times.push(performance.now() - t);
      }
      console.log(`${name.padEnd(18)} ${String(optimize).padStart(8)}  ${String(insns).padStart(12)}  ${median(times).toFixed(2).padStart(9)}`);
    }
  }
}

function createBench(runs: number, runtimes: string[]): void {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsrun-bench-seccomp-'));
  const variants: [string, Record<string, unknown> | undefined][] = [
    ['none', undefined],
    ['one rule', SMALL],
    ['docker default', dockerDefault()],
  ];
  const rts: Runtime[] = runtimes.map(makeRuntime).filter((r) => !r.absent);
  const bundles = new Map<string, string>();
  for (const [rt, [v, profile]] of rts.flatMap((r) => variants.map((v) => [r, v] as const))) {
    const b = path.join(dir, `${rt.name}-${v.replace(/ /g, '-')}`);
    makeBundle(b, {
      args: ['/bin/true'],
      edit: (c) => {
        if (profile) c.linux.seccomp = profile;
        rt.adaptConfig?.(c);
      },
    });
    bundles.set(`${rt.name}/${v}`, b);
  }
  const times = new Map<string, number[]>();
  let n = 0;
  // The container's init inherits create's stdio: never a pipe spawnSync would wait on.
  const devnull = fs.openSync('/dev/null', 'r+');
  const stdio: ['ignore', number, number] = ['ignore', devnull, devnull];
  try {
    for (let i = 0; i < runs; i++) {
      for (const rt of rts) {
        for (const [v] of variants) {
          const id = `bench-sc-${process.pid}-${n++}`;
          const t0 = performance.now();
          const r = invoke(rt, ['create', '--bundle', bundles.get(`${rt.name}/${v}`)!, id], { stdio });
          const t = performance.now() - t0;
          invoke(rt, ['delete', '--force', id]);
          if (r.status !== 0) throw new Error(`${rt.name} create (${v}) failed: exit ${r.status}`);
          const k = `${rt.name}/${v}`;
          times.set(k, [...(times.get(k) ?? []), t]);
        }
      }
    }
  } finally {
    fs.closeSync(devnull);
    for (const rt of rts) cleanupRuntime(rt);
    fs.rmSync(dir, { recursive: true, force: true });
  }
  console.log(`\ncreate wall time, median of ${runs} (ms; delta against no seccomp)`);
  console.log(`runtime  ${variants.map(([v]) => v.padStart(20)).join('')}`);
  for (const rt of rts) {
    const base = median(times.get(`${rt.name}/none`)!);
    const cells = variants.map(([v]) => {
      const m = median(times.get(`${rt.name}/${v}`)!);
      return (v === 'none' ? m.toFixed(1) : `${m.toFixed(1)} (+${(m - base).toFixed(1)})`).padStart(20);
    });
    console.log(`${rt.name.padEnd(8)} ${cells.join('')}`);
  }
}

const { runs, runtimes } = parse(process.argv.slice(2));
compileBench(runs);
createBench(runs, runtimes);
