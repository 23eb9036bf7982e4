/**
 * Stop and remove through real engines, tsrun next to runc: `docker stop` of a
 * SIGTERM-trapping container, `docker rm -f` of a running one, and CRI
 * StopContainer (containerd's CRI plugin) of a SIGTERM-trapping container —
 * the paths where an engine makes several runtime calls (kill, kill --all,
 * delete, delete --force) for one user action.
 *
 *   node dist/bench/engines.js [--runs N] [--only docker|cri]
 *
 * Method (shared/reference/performance.md): the same private daemons for both
 * runtimes, runs interleaved runc/tsrun, medians and the tsrun/runc ratio.
 * The daemons are the test helpers' (test/helpers/docker.ts, cri.ts), and are
 * removed at the end whatever happens.
 */
import * as path from 'node:path';
import { RUNTIMES, type Runtime, cleanupOnce } from '../test/helpers/clients';
import { CRI_IMAGE, Cri } from '../test/helpers/cri';
import { Docker, dockerBinaries } from '../test/helpers/docker';
import { IMAGE_PATH_ENV, buildBusyboxImage } from '../test/helpers/oci-image';

const TRAP = ['sh', '-c', 'trap "exit 0" TERM; while :; do sleep 1 & wait; done'];

function parse(argv: string[]): { runs: number; only?: string } {
  let runs = 7;
  let only: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--runs') runs = Number(argv[++i]);
    else if (a === '--only') only = argv[++i];
    else throw new Error(`unknown argument ${a}; usage: [--runs N] [--only docker|cri]`);
  }
  if (!Number.isInteger(runs) || runs < 1) throw new Error('--runs must be a positive integer');
  return { runs, only };
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
  const rows = [['measure', 'runc (median ms)', 'tsrun (median ms)', 'tsrun/runc']];
  for (const [what, v] of Object.entries(s)) {
    const r = median(v.runc);
    const t = median(v.tsrun);
    rows.push([what, r.toFixed(0), t.toFixed(0), (t / r).toFixed(2)]);
  }
  const w = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  for (const r of rows) console.log(r.map((c, i) => c.padEnd(w[i])).join('  '));
}

function benchDocker(runs: number, s: Samples): void {
  const d = new Docker();
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
        must(['run', '-d', '--name', a, '--runtime', rt.name, '--network', 'none', 'tsrun-busybox:latest', ...TRAP]);
        add(s, 'docker stop (SIGTERM trap)', rt, must(['stop', '-t', '10', a]).ms);
        must(['rm', a]);
        const b = `bench-${rt.name}-rmf-${i}`;
        must(['run', '-d', '--name', b, '--runtime', rt.name, '--network', 'none', 'tsrun-busybox:latest', 'sleep', '1000']);
        add(s, 'docker rm -f (running)', rt, must(['rm', '-f', b]).ms);
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
          let t0 = Date.now();
          await cri.rpc('StopContainer', { container_id: c.container_id, timeout: 10 });
          add(s, 'CRI StopContainer (SIGTERM trap)', rt, Date.now() - t0);
          t0 = Date.now();
          await cri.rpc('RemoveContainer', { container_id: c.container_id });
          add(s, 'CRI RemoveContainer (stopped)', rt, Date.now() - t0);
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
  const { runs, only } = parse(process.argv.slice(2));
  const s: Samples = {};
  console.log(`engines: ${runs} runs each, runc and tsrun interleaved, medians\n`);
  if (only !== 'cri') {
    if (dockerBinaries()) benchDocker(runs, s);
    else console.log('docker: dockerd not installed (apt-get install docker.io), skipped');
  }
  if (only !== 'docker') await benchCri(runs, s);
  report(s);
}

main().catch((e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exitCode = 1;
});
