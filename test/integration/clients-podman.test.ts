/**
 * podman (+ conmon) as a real client: private storage/runroot/containers.conf,
 * the busybox rootfs tarball brought in with `podman import`, and
 * `podman --runtime <abs path> run --network none …`. Every scenario runs with
 * runc first (proving the scenario), then with tsrun.
 *
 * conmon calls `<rt> --log-format=json --log <userdata>/oci-log create
 * --bundle … --pid-file … [--console-socket …] <cid>` and `exec … --detach`;
 * podman itself calls `start`, `kill <cid> <signo>`, `delete --force`.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { RUNTIMES, type Runtime, cgroupFile, cleanupOnce, describe, reportSkips, scenario, waitFor, withTerminal } from '../helpers/clients';
import { buildBusyboxImage } from '../helpers/oci-image';
import { Podman } from '../helpers/podman';

const IMAGE = 'localhost/tsrun-busybox:latest';
const pm = new Podman();
const timings: string[] = [];
const cleanup = cleanupOnce(() => pm.stop());

test.before(() => {
  let t = Date.now();
  const img = buildBusyboxImage(path.join(pm.dir, 'image'));
  const r = pm.podman(['import', img.layerTar, IMAGE]);
  if (r.status !== 0) throw new Error(`podman import failed${describe(r)}`);
  timings.push(`image built and imported in ${Date.now() - t} ms`);
});

// uvu chains synchronous tests without returning to the event loop: yield once per
// test so that a SIGTERM/SIGINT (runner timeout, ^C) runs the clean-up promptly.
test.before.each(() => new Promise<void>((resolve) => setImmediate(resolve)));

test.after(() => {
  const t = Date.now();
  cleanup();
  timings.push(`clean-up in ${Date.now() - t} ms`);
  console.log(`\n# podman: ${timings.join('; ')}`);
  reportSkips('clients-podman');
});

let n = 0;
const name = (rt: Runtime, what: string) => `tsrun-it-${rt.name}-${what}-${process.pid}-${n++}`;

/** `podman run --rm --network none [flags] IMAGE cmd…` */
function run(rt: Runtime, flags: string[], cmd: string[]) {
  return pm.podman(['run', '--rm', '--network', 'none', ...flags, IMAGE, ...cmd], { rt });
}

const LOOP = ['sh', '-c', 'trap "echo got-term; exit 0" TERM; echo started; while :; do sleep 0.1; done'];

function startDetached(rt: Runtime, what: string): string {
  const c = name(rt, what);
  const r = pm.podman(['run', '-d', '--name', c, '--network', 'none', IMAGE, ...LOOP], { rt });
  assert.is(r.status, 0, describe(r) + pm.ociLog(c));
  assert.ok(waitFor(() => pm.inspect(c, '{{.State.Status}}') === 'running', 10_000), `${c} running`);
  return c;
}

function rm(c: string): void {
  pm.podman(['rm', '--force', '--time', '0', c], { timeoutMs: 30_000 });
}

for (const rt of RUNTIMES) {
  scenario(test, rt, 'podman run: stdout, stderr, exit codes', [], () => {
    const ok = run(rt, [], ['sh', '-c', 'echo hello from busybox; echo pid=$$']);
    assert.is(ok.status, 0, describe(ok));
    assert.is(ok.stdout, 'hello from busybox\npid=1\n', describe(ok));
    const three = run(rt, [], ['sh', '-c', 'echo to-stderr >&2; exit 3']);
    assert.is(three.status, 3, describe(three));
    assert.match(three.stderr, /to-stderr/, describe(three));
  });

  scenario(test, rt, 'podman run: a missing executable exits 127 (podman reads the runtime error text)', [], () => {
    const r = run(rt, [], ['/no/such/binary']);
    assert.is(r.status, 127, describe(r));
    assert.match(r.stderr, /\/no\/such\/binary/, describe(r));
  });

  scenario(test, rt, 'podman run --user 65534:65534', [], () => {
    const r = run(rt, ['--user', '65534:65534'], ['id']);
    assert.is(r.status, 0, describe(r));
    assert.match(r.stdout, /^uid=65534\(nobody\) gid=65534\(nogroup\)/, describe(r));
  });

  scenario(test, rt, 'podman run --cap-drop ALL: no effective, permitted or bounding capabilities', [], () => {
    const r = run(rt, ['--cap-drop', 'ALL'], ['grep', '^Cap', '/proc/self/status']);
    assert.is(r.status, 0, describe(r));
    for (const set of ['CapInh', 'CapPrm', 'CapEff', 'CapBnd', 'CapAmb']) {
      assert.match(r.stdout, new RegExp(`^${set}:\\s+0{16}$`, 'm'), `${set}${describe(r)}`);
    }
    const dflt = run(rt, [], ['grep', '^CapEff', '/proc/self/status']);
    assert.not.match(dflt.stdout, /0{16}/, `the default set is not empty${describe(dflt)}`);
  });

  scenario(test, rt, 'podman run --read-only: rootfs read-only, /tmp a writable tmpfs', [], () => {
    const probe = 'touch /probe 2>/dev/null && echo root-writable || echo root-read-only; touch /tmp/x && echo tmp-writable';
    const r = run(rt, ['--read-only'], ['sh', '-c', probe]);
    assert.is(r.status, 0, describe(r));
    assert.is(r.stdout, 'root-read-only\ntmp-writable\n', describe(r));
  });

  scenario(test, rt, 'podman run: the default seccomp profile is enforced (Seccomp: 2)', ['seccomp'], () => {
    const r = run(rt, [], ['grep', '^Seccomp:', '/proc/self/status']);
    assert.is(r.status, 0, describe(r));
    assert.match(r.stdout, /^Seccomp:\s+2$/m, describe(r));
  });

  scenario(test, rt, 'podman run -d, podman stop (SIGTERM → exit 0)', [], () => {
    const c = startDetached(rt, 'stop');
    try {
      const s = pm.podman(['stop', '--time', '10', c], { rt });
      assert.is(s.status, 0, describe(s) + pm.ociLog(c));
      assert.is(pm.inspect(c, '{{.State.Status}}'), 'exited');
      assert.is(pm.inspect(c, '{{.State.ExitCode}}'), '0', 'the TERM trap ran');
      const logs = pm.podman(['logs', c]);
      assert.match(logs.stdout, /started\n(.|\n)*got-term/, describe(logs));
    } finally {
      rm(c);
    }
  });

  scenario(test, rt, 'podman kill (SIGKILL → exit 137)', [], () => {
    const c = startDetached(rt, 'kill');
    try {
      const k = pm.podman(['kill', '--signal', 'KILL', c], { rt });
      assert.is(k.status, 0, describe(k) + pm.ociLog(c));
      assert.ok(waitFor(() => pm.inspect(c, '{{.State.Status}}') === 'exited', 10_000), 'exited');
      assert.is(pm.inspect(c, '{{.State.ExitCode}}'), '137');
    } finally {
      rm(c);
    }
  });

  scenario(test, rt, 'podman exec: output and exit code of a second process', ['exec'], () => {
    const c = startDetached(rt, 'exec');
    try {
      const e = pm.podman(['exec', c, 'sh', '-c', 'echo exec-ok pid=$$; exit 5'], { rt });
      assert.is(e.status, 5, describe(e) + pm.ociLog(c));
      assert.match(e.stdout, /exec-ok pid=\d+/, describe(e));
      const u = pm.podman(['exec', '--user', '65534', '--workdir', '/tmp', c, 'sh', '-c', 'id -u; pwd'], { rt });
      assert.is(u.status, 0, describe(u) + pm.ociLog(c));
      assert.is(u.stdout, '65534\n/tmp\n', describe(u));
    } finally {
      rm(c);
    }
  });

  scenario(test, rt, 'podman run -t: the process gets a terminal (console socket), exit code kept', ['console-socket'], () => {
    const argv = withTerminal(pm.argv(['run', '--rm', '-t', '--network', 'none', IMAGE, 'sh', '-c', 'test -t 0 && test -t 1 && echo tty-ok; tty; exit 4'], rt));
    const r = pm.raw(argv);
    assert.is(r.status, 4, describe(r));
    assert.match(r.stdout, /tty-ok\s+\/dev\/pts\/\d+\s/, describe(r));
  });

  scenario(test, rt, 'podman exec -t in a detached container', ['exec', 'console-socket'], () => {
    const c = startDetached(rt, 'exectty');
    try {
      const argv = withTerminal(pm.argv(['exec', '-t', c, 'sh', '-c', 'test -t 1 && echo exec-tty-ok; exit 6'], rt));
      const r = pm.raw(argv);
      assert.is(r.status, 6, describe(r) + pm.ociLog(c));
      assert.match(r.stdout, /exec-tty-ok/, describe(r));
    } finally {
      rm(c);
    }
  });

  scenario(test, rt, 'podman run --memory 64m: memory.limit_in_bytes in the container cgroup', ['cgroups'], () => {
    const limit = 64 * 1024 * 1024;
    const r = run(rt, ['--memory', '64m'], ['sh', '-c', 'cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max']);
    assert.is(r.status, 0, describe(r));
    assert.is(r.stdout.trim(), String(limit), describe(r));
  });

  scenario(test, rt, 'podman run --pids-limit 20: pids.max in the container cgroup', ['cgroups'], () => {
    const r = run(rt, ['--pids-limit', '20'], ['sh', '-c', 'cat /sys/fs/cgroup/pids/pids.max 2>/dev/null || cat /sys/fs/cgroup/pids.max']);
    assert.is(r.status, 0, describe(r));
    assert.is(r.stdout.trim(), '20', describe(r));
  });

  scenario(test, rt, 'podman run -d --memory 64m: the host cgroup of the init has the limit', ['cgroups'], () => {
    const c = name(rt, 'memhost');
    const r = pm.podman(['run', '-d', '--name', c, '--network', 'none', '--memory', '64m', IMAGE, ...LOOP], { rt });
    try {
      assert.is(r.status, 0, describe(r) + pm.ociLog(c));
      assert.ok(waitFor(() => pm.inspect(c, '{{.State.Status}}') === 'running', 10_000), `${c} running`);
      const pid = Number(pm.inspect(c, '{{.State.Pid}}'));
      assert.ok(pid > 0, `init pid ${pid}`);
      const file = cgroupFile(pid, 'memory', 'memory.limit_in_bytes', 'memory.max');
      assert.ok(file !== undefined, 'memory cgroup of the init');
      assert.match(file!, /libpod/, `podman's cgroupfs parent: ${file}`);
      assert.is(Number(fs.readFileSync(file!, 'utf8')), 64 * 1024 * 1024, file);
    } finally {
      rm(c);
    }
  });

  scenario(test, rt, 'podman pause / unpause: Paused with a frozen cgroup, then running again', ['pause', 'cgroups'], () => {
    const c = startDetached(rt, 'pause');
    try {
      const pid = Number(pm.inspect(c, '{{.State.Pid}}'));
      const p = pm.podman(['pause', c], { rt });
      assert.is(p.status, 0, describe(p) + pm.ociLog(c));
      assert.is(pm.inspect(c, '{{.State.Status}}'), 'paused');
      const fz = pid > 0 ? cgroupFile(pid, 'freezer', 'freezer.state', 'cgroup.events') : undefined;
      if (fz !== undefined) assert.match(fs.readFileSync(fz, 'utf8'), /^(FROZEN|[^]*frozen 1)/, fz);
      const u = pm.podman(['unpause', c], { rt });
      assert.is(u.status, 0, describe(u) + pm.ociLog(c));
      assert.is(pm.inspect(c, '{{.State.Status}}'), 'running');
      const s = pm.podman(['stop', '--time', '10', c], { rt });
      assert.is(s.status, 0, describe(s) + pm.ociLog(c));
      assert.is(pm.inspect(c, '{{.State.ExitCode}}'), '0', 'a resumed container still handles SIGTERM');
    } finally {
      rm(c);
    }
  });

  scenario(test, rt, 'podman stats --no-stream --format json: memory usage of a running container', ['cgroups'], () => {
    const c = startDetached(rt, 'stats');
    try {
      const r = pm.podman(['stats', '--no-stream', '--format', 'json', c], { rt });
      assert.is(r.status, 0, describe(r) + pm.ociLog(c));
      let stats: Array<Record<string, unknown>>;
      try {
        stats = JSON.parse(r.stdout);
      } catch (e) {
        throw new Error(`podman stats did not print JSON: ${e}${describe(r)}`);
      }
      assert.ok(Array.isArray(stats) && stats.length === 1, describe(r));
      const mem = stats[0].mem_usage;
      assert.type(mem, 'string', `mem_usage field${describe(r)}`);
      assert.match(mem as string, /^[1-9][\d.]*\s*[kMG]?B\s*\/\s*\S+/, `non-zero memory usage${describe(r)}`);
    } finally {
      rm(c);
    }
  });
}

test.run();
