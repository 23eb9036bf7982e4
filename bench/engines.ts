/**
 * Stop and remove through real engines, tsrun next to runc: `docker stop` of a
 * SIGTERM-trapping container, `docker rm -f` of a running one, and CRI
 * StopContainer (containerd's CRI plugin) of a SIGTERM-trapping container —
 * the paths where an engine makes several runtime calls (kill, kill --all,
 * delete, delete --force) for one user action.
 *
 *   node dist/bench/engines.js [--runs N] [--only docker|cri] [--trace FILE]
 *
 * --trace FILE appends every runtime call the engines make to FILE — start and
 * end time, exit code, argv — through a wrapper script set as each runtime (it
 * adds a few ms a call: a diagnosis, not the figures). One line per call:
 * `<start s> <end s> rc=<rc> <runc|tsrun> <argv…>`; MARK lines bracket each
 * measured action, so the two runtimes' timelines can be laid side by side.
 *
 * Method (shared/reference/performance.md): the same private daemons for both
 * runtimes, runs interleaved runc/tsrun, medians and the tsrun/runc ratio.
 * The daemons are the test helpers' (test/helpers/docker.ts, cri.ts), and are
 * removed at the end whatever happens.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { RUNTIMES, type Runtime, cleanupOnce } from '../test/helpers/clients';
import { CRI_IMAGE, Cri } from '../test/helpers/cri';
import { Docker, dockerBinaries } from '../test/helpers/docker';
import { IMAGE_PATH_ENV, buildBusyboxImage } from '../test/helpers/oci-image';

const TRAP = ['sh', '-c', 'trap "exit 0" TERM; while :; do sleep 1 & wait; done'];

interface Options {
  runs: number;
  only?: string;
  trace?: string;
}

function parse(argv: string[]): Options {
  let runs = 7;
  let only: string | undefined;
  let trace: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--runs') runs = Number(argv[++i]);
    else if (a === '--only') only = argv[++i];
    else if (a === '--trace') trace = argv[++i];
    else throw new Error(`unknown argument ${a}; usage: [--runs N] [--only docker|cri] [--trace FILE]`);
  }
  if (!Number.isInteger(runs) || runs < 1) throw new Error('--runs must be a positive integer');
  if (trace !== undefined && !trace) throw new Error('--trace needs a file');
  return { runs, only, trace: trace && path.resolve(trace) };
}

/** dockerd's name for a runtime: runc is built in, a traced runc is registered under another name. */
const dockerName: Record<Runtime['name'], string> = { runc: 'runc', tsrun: 'tsrun' };
let traceFile: string | undefined;

function mark(what: string): void {
  if (traceFile) fs.appendFileSync(traceFile, `${(Date.now() / 1000).toFixed(3)} MARK ${what}\n`);
}

/** Sets each runtime's binary to a wrapper script that logs the call to `file`, then runs the real one. */
function traceRuntimes(file: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsrun-bench-trace-'));
  const q = (x: string) => `'${x.replace(/'/g, `'\\''`)}'`;
  for (const rt of RUNTIMES) {
    const w = path.join(dir, rt.name);
    fs.writeFileSync(
      w,
      `#!/bin/sh\nt0=$(date +%s.%N)\n${q(rt.bin)} "$@"\nrc=$?\n` +
        `echo "$t0 $(date +%s.%N) rc=$rc ${rt.name} $*" >> ${q(file)}\nexit $rc\n`,
      { mode: 0o755 },
    );
    rt.bin = w;
  }
  dockerName.runc = 'runc-traced';
  traceFile = file;
  return dir;
}

/** The private dockerd, with the traced runc registered when tracing. */
class BenchDocker extends Docker {
  override daemonJson(): string {
    const j = JSON.parse(super.daemonJson()) as { runtimes: Record<string, { path: string }> };
    if (traceFile) j.runtimes[dockerName.runc] = { path: RUNTIMES.find((r) => r.name === 'runc')!.bin };
    return JSON.stringify(j, null, 2);
  }
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length === 0 ? NaN : s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

type Samples = Record<string, Record<Runtime['name'], number[]>>;

function add(s: Samples, what: string, rt: Runtime, ms: number): void {
  s[what] ??= { runc: [], tsrun: [] };
  s[what][rt.name].push(ms);
}

function report(s: Samples): void {
  const rows = [['measure', 'runc median (min-max) ms', 'tsrun median (min-max) ms', 'tsrun/runc']];
  const cell = (xs: number[]) => `${median(xs).toFixed(0)} (${Math.min(...xs).toFixed(0)}-${Math.max(...xs).toFixed(0)})`;
  for (const [what, v] of Object.entries(s)) {
    rows.push([what, cell(v.runc), cell(v.tsrun), (median(v.tsrun) / median(v.runc)).toFixed(2)]);
  }
  const w = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  for (const r of rows) console.log(r.map((c, i) => c.padEnd(w[i])).join('  '));
}

function benchDocker(runs: number, s: Samples): void {
  const d = new BenchDocker();
  const cleanup = cleanupOnce(() => d.stop());
  try {
    d.start();
    const img = buildBusyboxImage(path.join(d.dir, 'image'));
    const imp = d.docker(['import', '-c', `ENV ${IMAGE_PATH_ENV}`, img.layerTar, 'tsrun-busybox:latest']);
    if (imp.status !== 0) throw new Error(`docker import: ${imp.stderr}`);
    const must = (args: string[]) => {
      const r = d.docker(args);
      if (r.status !== 0) throw new Error(`docker ${args.join(' ')}: ${r.stderr.trim()}`);
      return r;
    };
    for (let i = 0; i < runs; i++) {
      for (const rt of RUNTIMES) {
        const a = `bench-${rt.name}-stop-${i}`;
        must(['run', '-d', '--name', a, '--runtime', dockerName[rt.name], '--network', 'none', 'tsrun-busybox:latest', ...TRAP]);
        mark(`${rt.name} docker stop`);
        add(s, 'docker stop (SIGTERM trap)', rt, must(['stop', '-t', '10', a]).ms);
        mark(`${rt.name} docker stop done`);
        must(['rm', a]);
        const b = `bench-${rt.name}-rmf-${i}`;
        must(['run', '-d', '--name', b, '--runtime', dockerName[rt.name], '--network', 'none', 'tsrun-busybox:latest', 'sleep', '1000']);
        mark(`${rt.name} docker rm -f`);
        add(s, 'docker rm -f (running)', rt, must(['rm', '-f', b]).ms);
        mark(`${rt.name} docker rm -f done`);
      }
    }
  } finally {
    cleanup();
  }
}

async function benchCri(runs: number, s: Samples): Promise<void> {
  const cri = new Cri();
  const cleanup = cleanupOnce(() => cri.stop());
  try {
    cri.start();
    for (let i = 0; i < runs; i++) {
      for (const rt of RUNTIMES) {
        const pod = await cri.runPod(rt, `bench-${rt.name}-${i}`);
        try {
          const c = await cri.rpc<{ container_id: string }>('CreateContainer', {
            pod_sandbox_id: pod.id,
            sandbox_config: pod.config,
            config: { metadata: { name: 'trap' }, image: { image: CRI_IMAGE }, command: TRAP, log_path: 'trap.log' },
          });
          await cri.rpc('StartContainer', { container_id: c.container_id });
          mark(`${rt.name} CRI StopContainer`);
          let t0 = Date.now();
          await cri.rpc('StopContainer', { container_id: c.container_id, timeout: 10 });
          add(s, 'CRI StopContainer (SIGTERM trap)', rt, Date.now() - t0);
          mark(`${rt.name} CRI RemoveContainer`);
          t0 = Date.now();
          await cri.rpc('RemoveContainer', { container_id: c.container_id });
          add(s, 'CRI RemoveContainer (stopped)', rt, Date.now() - t0);
          mark(`${rt.name} CRI done`);
        } finally {
          await cri.removePod(pod.id);
        }
      }
    }
  } finally {
    cleanup();
  }
}

async function main(): Promise<void> {
  const { runs, only, trace } = parse(process.argv.slice(2));
  const s: Samples = {};
  const traceDir = trace ? traceRuntimes(trace) : undefined;
  if (traceDir) process.on('exit', () => fs.rmSync(traceDir, { recursive: true, force: true }));
  const load = () => os.loadavg().map((l) => l.toFixed(2)).join(' ');
  console.log(`engines: ${runs} runs each, runc and tsrun interleaved, medians; ${os.cpus().length} CPUs, load average ${load()}\n`);
  if (only !== 'cri') {
    if (dockerBinaries()) benchDocker(runs, s);
    else console.log('docker: dockerd not installed (apt-get install docker.io), skipped');
  }
  if (only !== 'docker') await benchCri(runs, s);
  report(s);
  console.log(`\nload average at the end: ${load()}`);
}

main().catch((e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exitCode = 1;
});
