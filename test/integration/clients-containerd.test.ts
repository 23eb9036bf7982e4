/**
 * containerd as a real client: a private containerd (Debian's), a busybox
 * image built locally and imported with `ctr images import`, and
 * `ctr run --runc-binary <runtime>` through the runc shim v2. Every scenario
 * runs with runc first (proving the scenario), then with tsrun.
 *
 * The shim calls the runtime as
 *   <rt> --root /run/containerd/runc/<ns> --log <bundle>/log.json --log-format json <verb> …
 * and reports the last "level":"error" line of that log when a verb fails.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  RUNTIMES,
  type Runtime,
  alive,
  cgroupFile,
  cleanupOnce,
  describe,
  reportSkips,
  scenario,
  waitFor,
  withTerminal,
} from '../helpers/clients';
import { Containerd } from '../helpers/containerd';
import { controllerOn, skip } from '../helpers/host';
import { buildBusyboxImage, type LocalImage } from '../helpers/oci-image';

const cd = new Containerd();
let image: LocalImage;
const timings: string[] = [];
const cleanup = cleanupOnce(() => cd.stop(RUNTIMES));

test.before(() => {
  const ms = cd.start();
  timings.push(`containerd up in ${ms} ms`);
  let t = Date.now();
  image = buildBusyboxImage(path.join(cd.dir, 'image'));
  timings.push(`OCI image built in ${Date.now() - t} ms`);
  for (const rt of RUNTIMES) {
    t = Date.now();
    const r = cd.ctr(['images', 'import', image.ociTar], { ns: cd.ns(rt) });
    if (r.status !== 0) throw new Error(`ctr images import failed${describe(r)}`);
    timings.push(`imported into ${cd.ns(rt)} in ${Date.now() - t} ms`);
  }
});

// uvu chains synchronous tests without returning to the event loop: yield once per
// test so that a SIGTERM/SIGINT (runner timeout, ^C) runs the clean-up promptly.
test.before.each(() => new Promise<void>((resolve) => setImmediate(resolve)));

test.after(() => {
  const t = Date.now();
  cleanup();
  timings.push(`clean-up in ${Date.now() - t} ms`);
  console.log(`\n# containerd: ${timings.join('; ')}`);
  reportSkips('clients-containerd');
});

/** `ctr task ls` → { pid, status } of one task, or undefined. */
function task(ns: string, id: string): { pid: number; status: string } | undefined {
  const r = cd.ctr(['task', 'ls'], { ns });
  for (const line of r.stdout.split('\n')) {
    const [tid, pid, status] = line.trim().split(/\s+/);
    if (tid === id) return { pid: Number(pid), status };
  }
  return undefined;
}

function waitTaskStatus(ns: string, id: string, want: string, timeoutMs = 10_000): string {
  let last = '';
  waitFor(() => (last = task(ns, id)?.status ?? 'none') === want, timeoutMs, 50);
  return last;
}

/** What the failing verb left in the runtime's log, for assertion messages. */
function logOf(ns: string, id: string): string {
  const log = cd.runtimeLog(ns, id).trim();
  return log ? `\n  runtime log.json:\n    ${log.split('\n').slice(-5).join('\n    ')}` : '';
}

/** A detached task running a loop that exits 0 on SIGTERM; removed by the caller's finally. */
const LOOP = ['sh', '-c', 'trap "echo got-term; exit 0" TERM; echo started; while :; do sleep 0.1; done'];

function startDetached(rt: Runtime, ns: string, name: string, flags: string[] = []): string {
  const id = cd.id(ns, name);
  const r = cd.run(rt, ns, ['-d', ...flags], image.name, id, LOOP);
  assert.is(r.status, 0, `ctr run -d failed${describe(r)}${logOf(ns, id)}`);
  const st = waitTaskStatus(ns, id, 'RUNNING');
  assert.is(st, 'RUNNING', `task ${id} is ${st}`);
  return id;
}

for (const rt of RUNTIMES) {
  scenario(test, rt, 'ctr run: stdout, stderr, exit codes', [], () => {
    const ns = cd.ns(rt);
    const ok = cd.run(rt, ns, ['--rm'], image.name, cd.id(ns, 'out'), ['sh', '-c', 'echo hello from busybox; echo pid=$$']);
    assert.is(ok.status, 0, describe(ok));
    assert.is(ok.stdout, 'hello from busybox\npid=1\n', describe(ok));
    const three = cd.run(rt, ns, ['--rm'], image.name, cd.id(ns, 'exit3'), ['sh', '-c', 'echo to-stderr >&2; exit 3']);
    assert.is(three.status, 3, describe(three));
    assert.match(three.stderr, /to-stderr/, describe(three));
  });

  scenario(test, rt, 'ctr run --env: variables reach the process, PATH from the image', [], () => {
    const ns = cd.ns(rt);
    const r = cd.run(rt, ns, ['--rm', '--env', 'FOO=bar baz', '--env', 'EMPTY='], image.name, cd.id(ns, 'env'), ['env']);
    assert.is(r.status, 0, describe(r));
    const env = r.stdout.split(/\r?\n/);
    assert.ok(env.includes('FOO=bar baz'), describe(r));
    assert.ok(env.includes('EMPTY='), describe(r));
    assert.ok(env.some((l) => l.startsWith('PATH=') && l.includes('/bin')), describe(r));
  });

  scenario(test, rt, 'ctr run --read-only: the rootfs cannot be written', [], () => {
    const ns = cd.ns(rt);
    const probe = 'if touch /probe 2>/dev/null; then echo writable; else echo read-only; fi; grep " / " /proc/mounts';
    const ro = cd.run(rt, ns, ['--rm', '--read-only'], image.name, cd.id(ns, 'ro'), ['sh', '-c', probe]);
    assert.is(ro.status, 0, describe(ro));
    assert.match(ro.stdout, /^read-only\n/, describe(ro));
    assert.match(ro.stdout, /\sro[,\s]/, describe(ro));
    const rw = cd.run(rt, ns, ['--rm'], image.name, cd.id(ns, 'rw'), ['sh', '-c', probe]);
    assert.match(rw.stdout, /^writable\n/, describe(rw));
  });

  scenario(test, rt, 'ctr run: a missing executable fails create, with the runtime error from log.json', [], () => {
    const ns = cd.ns(rt);
    const id = cd.id(ns, 'noexec');
    const r = cd.run(rt, ns, ['--rm'], image.name, id, ['/no/such/binary']);
    assert.is.not(r.status, 0, describe(r));
    // containerd surfaces the last "level":"error" msg of <bundle>/log.json.
    assert.match(r.stderr, /OCI runtime create failed: .*\/no\/such\/binary/, describe(r));
    assert.is(task(ns, id), undefined, 'no task is left behind');
  });

  scenario(test, rt, 'ctr run -d, ctr task kill (SIGTERM → 0, then SIGKILL --all → 137), ctr task delete', [], () => {
    const ns = cd.ns(rt);
    const id = startDetached(rt, ns, 'detached');
    try {
      const pid = task(ns, id)!.pid;
      assert.ok(pid > 0 && alive(pid), `init pid ${pid} alive`);
      const k = cd.ctr(['task', 'kill', id], { ns });
      assert.is(k.status, 0, describe(k) + logOf(ns, id));
      assert.is(waitTaskStatus(ns, id, 'STOPPED'), 'STOPPED');
      const d = cd.ctr(['task', 'delete', id], { ns });
      assert.is(d.status, 0, describe(d) + logOf(ns, id));
      assert.ok(!alive(pid), 'init is gone');
      assert.not.match(d.stderr, /non-zero exit code/, 'the TERM trap exited 0' + describe(d));
      // Second task in the same container: SIGKILL to all its processes.
      const s = cd.ctr(['task', 'start', '-d', id], { ns });
      assert.is(s.status, 0, describe(s) + logOf(ns, id));
      assert.is(waitTaskStatus(ns, id, 'RUNNING'), 'RUNNING');
      const k9 = cd.ctr(['task', 'kill', '--all', '--signal', 'SIGKILL', id], { ns });
      assert.is(k9.status, 0, describe(k9) + logOf(ns, id));
      assert.is(waitTaskStatus(ns, id, 'STOPPED'), 'STOPPED');
      const d9 = cd.ctr(['task', 'delete', id], { ns });
      assert.is(d9.status, 0, describe(d9) + logOf(ns, id));
      assert.match(d9.stderr, /exit with non-zero exit code 137/, describe(d9));
    } finally {
      cd.remove(ns, id);
    }
  });

  scenario(test, rt, 'ctr task exec: output and exit code of a second process', ['exec'], () => {
    const ns = cd.ns(rt);
    const id = startDetached(rt, ns, 'exec');
    try {
      const fifo = path.join(cd.dir, 'fifo');
      const e = cd.ctr(['task', 'exec', '--fifo-dir', fifo, '--exec-id', 'e1', id, 'sh', '-c', 'echo exec-ok pid=$$; exit 5'], { ns });
      assert.is(e.status, 5, describe(e) + logOf(ns, id));
      assert.match(e.stdout, /exec-ok pid=\d+/, describe(e));
      assert.not.match(e.stdout, /pid=1\b/, 'exec is not pid 1');
      const env = cd.ctr(['task', 'exec', '--fifo-dir', fifo, '--exec-id', 'e2', '--cwd', '/tmp', id, 'sh', '-c', 'pwd; cat /proc/1/cmdline | tr "\\0" " "'], { ns });
      assert.is(env.status, 0, describe(env) + logOf(ns, id));
      assert.match(env.stdout, /^\/tmp\n.*while :/s, describe(env));
    } finally {
      cd.remove(ns, id);
    }
  });

  scenario(test, rt, 'ctr task ps: lists the container processes', ['ps', 'cgroups'], () => {
    const ns = cd.ns(rt);
    const id = startDetached(rt, ns, 'ps');
    try {
      const pid = task(ns, id)!.pid;
      const r = cd.ctr(['task', 'ps', id], { ns });
      assert.is(r.status, 0, describe(r) + logOf(ns, id));
      const pids = r.stdout.split('\n').slice(1).map((l) => Number(l.trim().split(/\s+/)[0])).filter((n) => n > 0);
      assert.ok(pids.includes(pid), `init ${pid} listed${describe(r)}`);
    } finally {
      cd.remove(ns, id);
    }
  });

  scenario(test, rt, 'ctr task pause / resume: PAUSED with a frozen cgroup, then RUNNING again', ['pause', 'cgroups'], () => {
    const ns = cd.ns(rt);
    const id = startDetached(rt, ns, 'pause');
    try {
      const pid = task(ns, id)!.pid;
      const p = cd.ctr(['task', 'pause', id], { ns });
      assert.is(p.status, 0, describe(p) + logOf(ns, id));
      assert.is(waitTaskStatus(ns, id, 'PAUSED'), 'PAUSED');
      // v1 freezer.state, or cgroup2's cgroup.events ("frozen 1"), wherever this host has the freezer.
      const fz = cgroupFile(pid, 'freezer', 'freezer.state', 'cgroup.events');
      if (fz !== undefined) assert.match(fs.readFileSync(fz, 'utf8'), /^(FROZEN|[^]*frozen 1)/, fz);
      const r = cd.ctr(['task', 'resume', id], { ns });
      assert.is(r.status, 0, describe(r) + logOf(ns, id));
      assert.is(waitTaskStatus(ns, id, 'RUNNING'), 'RUNNING');
      const k = cd.ctr(['task', 'kill', id], { ns });
      assert.is(k.status, 0, describe(k));
      assert.is(waitTaskStatus(ns, id, 'STOPPED'), 'STOPPED', 'a resumed task still handles SIGTERM');
    } finally {
      cd.remove(ns, id);
    }
  });

  scenario(test, rt, 'ctr run --memory-limit: the container cgroup has the limit', ['cgroups'], () => {
    const ns = cd.ns(rt);
    const limit = 64 * 1024 * 1024;
    const id = startDetached(rt, ns, 'mem', ['--memory-limit', String(limit)]);
    try {
      const pid = task(ns, id)!.pid;
      const file = cgroupFile(pid, 'memory', 'memory.limit_in_bytes', 'memory.max');
      assert.ok(file !== undefined, `memory cgroup of the init (host: memory ${controllerOn('memory') ?? 'absent'})`);
      assert.match(path.dirname(file!), new RegExp(`/${ns}/${id}$`), `ctr's default cgroupsPath /<ns>/<id>: ${file}`);
      assert.is(Number(fs.readFileSync(file!, 'utf8')), limit);
    } finally {
      cd.remove(ns, id);
    }
  });

  scenario(test, rt, 'ctr run -t: the process gets a terminal (console socket), exit code kept', ['console-socket'], () => {
    const ns = cd.ns(rt);
    const id = cd.id(ns, 'tty');
    const argv = withTerminal([
      'ctr', '--address', cd.sock, '--namespace', ns, 'run', '--runc-binary', rt.bin, '--fifo-dir', path.join(cd.dir, 'fifo'),
      '-t', '--rm', image.name, id, 'sh', '-c', 'test -t 0 && test -t 1 && echo tty-ok; tty; exit 4',
    ]);
    const r = cd.ctrRaw(argv);
    assert.is(r.status, 4, describe(r) + logOf(ns, id));
    assert.match(r.stdout, /tty-ok\s+\/dev\/pts\/\d+\s/, describe(r));
  });

  scenario(test, rt, 'ctr run --seccomp: the default profile is enforced (Seccomp: 2)', ['seccomp'], () => {
    const ns = cd.ns(rt);
    const r = cd.run(rt, ns, ['--rm', '--seccomp'], image.name, cd.id(ns, 'seccomp'), ['grep', '^Seccomp:', '/proc/self/status']);
    assert.is(r.status, 0, describe(r));
    assert.match(r.stdout, /^Seccomp:\s+2$/m, describe(r));
  });

  scenario(test, rt, 'ctr task metrics: memory, cpu and pids of a detached task', ['cgroups'], () => {
    // The table below is cgroup v1's (ctr prints other keys on cgroup2).
    if (controllerOn('memory') !== 'v1') return skip(`${rt.name}: ctr task metrics`, `needs memory on cgroup v1 (host: memory ${controllerOn('memory') ?? 'absent'})`);
    const ns = cd.ns(rt);
    const limit = 64 * 1024 * 1024;
    const id = startDetached(rt, ns, 'metrics', ['--memory-limit', String(limit)]);
    try {
      const r = cd.ctr(['task', 'metrics', id], { ns });
      assert.is(r.status, 0, describe(r) + logOf(ns, id));
      // cgroup v1 table: "memory.usage_in_bytes  <n>", "memory.limit_in_bytes  <n>", "cpuacct.usage …", "pids.current …"
      const value = (key: string) => {
        const m = new RegExp(`^${key.replace(/\./g, '\\.')}\\s+(\\d+)\\s*$`, 'm').exec(r.stdout);
        return m ? Number(m[1]) : undefined;
      };
      const usage = value('memory.usage_in_bytes');
      const lim = value('memory.limit_in_bytes');
      assert.ok((usage ?? 0) > 0 || lim === limit, `non-zero memory usage or the limit${describe(r)}`);
      assert.match(r.stdout, /^cpuacct\.usage\s+\d+/m, describe(r));
      assert.match(r.stdout, /^pids\.current\s+[1-9]\d*/m, describe(r));
    } finally {
      cd.remove(ns, id);
    }
  });
}

test.run();
