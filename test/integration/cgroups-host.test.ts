/**
 * The cgroup library and commands on this host's real cgroups (root only),
 * and a side-by-side check against runc: the same resources, the same file values.
 * Resources and expectations come from test/helpers/host.ts (the blkio weight
 * file and hugepage sizes this host has, where each controller lives); what
 * the host lacks is a SKIP with the reason.
 * Everything created here lives under /<hierarchy>/tsrun-itest-<pid>/ and is removed in finally.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { blockDev, killAndRemoveCgroup, restoreUnifiedRoot, unifiedRootControllers } from '../helpers/cgroups';
import { absentPageSize, controllerOn, host, hostTest, need, needAll, needs } from '../helpers/host';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { makeBundle } from '../../src/bundle/busybox';
import { hostLayout, openCgroup, prepareCgroup, type CgroupHandle, type CgroupRecord } from '../../src/cgroups';
import type { LinuxResources } from '../../src/config/types';
import { readStartTime, sleepSync } from '../../src/state/proc';
import { createContainerDir, writeState, type StateRecord } from '../../src/state/store';


const REPO = path.resolve(__dirname, '../../..');
const TSRUN = path.join(REPO, 'bin/tsrun');
const BASE = `/tsrun-itest-${process.pid}`;
const isRoot = process.getuid?.() === 0;
const layout = isRoot ? hostLayout() : undefined;
/** What the v1 tests read back: every one of these controllers on a v1 hierarchy. */
const needV1 = (...ctrls: string[]): string | undefined => needAll(needs.root(), ...ctrls.map((c) => needs.v1(c)));
const RUNC = ['/usr/sbin/runc', '/usr/bin/runc', '/usr/local/sbin/runc'].find((p) => fs.existsSync(p));

/** cgroup2 root subtree_control before the tests: controllers we enable there are disabled again at the end. */
const unifiedBefore = unifiedRootControllers();
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tsrun-cgi-'));
const children: ChildProcess[] = [];
const handles: CgroupHandle[] = [];

function sleeper(): ChildProcess {
  const c = spawn('sleep', ['300'], { detached: true, stdio: 'ignore' });
  children.push(c);
  return c;
}
const read = (p: string): string => fs.readFileSync(p, 'utf8').trim();
function procState(pid: number): string {
  return /^State:\s+(\S)/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? '?';
}

/** Removes BASE from every hierarchy, deepest first (anything a failed test left). */
function sweep(): void {
  if (!layout) return;
  const roots = [...layout.v1.map((h) => h.mountPoint), ...(layout.unified ? [layout.unified.mountPoint] : [])];
  for (const r of roots) killAndRemoveCgroup(path.join(r, BASE));
}

test.after(() => {
  for (const c of children) {
    try {
      if (c.pid) process.kill(c.pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
  for (const h of handles) {
    try {
      openCgroup(h.record).thaw();
    } catch {
      /* not frozen / gone */
    }
    try {
      h.destroy();
    } catch {
      /* swept below */
    }
  }
  sweep();
  restoreUnifiedRoot(unifiedBefore);
  fs.rmSync(tmp, { recursive: true, force: true });
});

/** Resources every v1 host takes: no blkio weight without a weight file, no rt period without RT group scheduling. */
function limits(): LinuxResources {
  const f = host().v1Files;
  return {
    memory: { limit: 268435456, reservation: 134217728, ...(f.memorySwap ? { swap: 536870912 } : {}), swappiness: 30, disableOOMKiller: true },
    cpu: { shares: 512, quota: 50000, period: 100000, ...(f.cpuRt ? { realtimePeriod: 1000000 } : {}), cpus: '0', mems: '0' },
    pids: { limit: 123 },
    blockIO: { ...(f.blkioWeight ? { weight: 300 } : {}), throttleReadBpsDevice: [] },
  };
}

hostTest(test, 'real v1: create, limits read back, join a process, freeze/thaw, stats, kill all, destroy', () => needV1('memory', 'cpu', 'cpuset', 'pids', 'devices', 'freezer'), async () => {
  const LIMITS = limits();
  const swap = host().v1Files.memorySwap;
  const h = prepareCgroup({ id: 'lib1', cgroupsPath: `${BASE}/lib1`, systemd: false, resources: { ...LIMITS, devices: [{ allow: false, access: 'rwm' }] } });
  handles.push(h);
  const p = h.record.paths;
  assert.is(read(`${p.memory}/memory.limit_in_bytes`), '268435456');
  if (swap) assert.is(read(`${p.memory}/memory.memsw.limit_in_bytes`), '536870912');
  assert.is(read(`${p.memory}/memory.soft_limit_in_bytes`), '134217728');
  assert.is(read(`${p.memory}/memory.swappiness`), '30');
  const wf = host().v1Files.blkioWeight;
  if (wf) assert.is(read(`${p.blkio}/${wf}`), '300');
  assert.match(read(`${p.memory}/memory.oom_control`), /oom_kill_disable 1/);
  assert.is(read(`${p.cpu}/cpu.shares`), '512');
  assert.is(read(`${p.cpu}/cpu.cfs_quota_us`), '50000');
  assert.is(read(`${p.cpuset}/cpuset.cpus`), '0');
  assert.is(read(`${p.pids}/pids.max`), '123');
  assert.match(read(`${p.devices}/devices.list`), /^b \*:\* m\nc \*:\* m\nc 1:3 rwm/);
  const child = sleeper();
  h.addProcess(child.pid!);
  const own = fs.readFileSync(`/proc/${child.pid}/cgroup`, 'utf8');
  assert.match(own, new RegExp(`:memory:${BASE}/lib1\\n`));
  assert.match(own, new RegExp(`:pids:${BASE}/lib1\\n`));
  if (p['']) assert.match(own, new RegExp(`0::${BASE}/lib1\\n`));
  const cg = openCgroup(h.record);
  assert.equal(cg.pids(), [child.pid!]);
  cg.freeze();
  assert.is(read(`${p.freezer}/freezer.state`), 'FROZEN');
  assert.ok(cg.isFrozen());
  const frozenState = procState(child.pid!);
  assert.ok(['D', 'T', 'S'].includes(frozenState), `frozen task state ${frozenState}`);
  cg.thaw();
  assert.is(read(`${p.freezer}/freezer.state`), 'THAWED');
  assert.not.ok(cg.isFrozen());
  const st = cg.stats();
  assert.is(st.pids.current, 1);
  assert.is(st.pids.limit, 123);
  assert.is(st.memory.usage.limit, 268435456);
  cg.update({ memory: { limit: 134217728, ...(swap ? { swap: 268435456 } : {}) }, cpu: { shares: 256 }, pids: { limit: 7 } });
  assert.is(read(`${p.memory}/memory.limit_in_bytes`), '134217728');
  if (swap) assert.is(read(`${p.memory}/memory.memsw.limit_in_bytes`), '268435456');
  assert.is(read(`${p.cpu}/cpu.shares`), '256');
  assert.is(read(`${p.pids}/pids.max`), '7');
  const exited = new Promise((res) => child.once('exit', res));
  cg.killAll(9);
  await exited;
  h.destroy();
  for (const d of Object.values(p)) assert.not.ok(fs.existsSync(d), `${d} removed`);
  assert.not.ok(fs.existsSync(path.join(path.dirname(p.memory))), 'created parent removed');
});

hostTest(
  test,
  'real hybrid: hugetlb goes to the cgroup2 hierarchy when v1 has no hugetlb',
  () => needAll(needs.root(), need(host().cgroup.mode === 'hybrid', `needs a hybrid host (this one: ${host().cgroup.mode})`), need(controllerOn('hugetlb') !== 'v1', 'hugetlb is on a v1 hierarchy here'), needs.hugepages()),
  () => {
    const sizes = host().hugepageSizes;
    const [small] = sizes;
    if (controllerOn('hugetlb') !== 'v2') {
      assert.throws(() => prepareCgroup({ id: 'h', cgroupsPath: `${BASE}/h`, systemd: false, resources: { hugepageLimits: [{ pageSize: small, limit: 4194304 }] } }), /^linux\.resources\.hugepageLimits: cannot set hugetlb limit: the hugetlb controller is not mounted \(cgroup v1\) nor available on the cgroup2 hierarchy/);
      return;
    }
    // A second page size (1GB on most x86 hosts), when this host has one, through a unified key.
    const big = sizes.length > 1 ? sizes[sizes.length - 1] : undefined;
    const h = prepareCgroup({ id: 'h', cgroupsPath: `${BASE}/h`, systemd: false, resources: { hugepageLimits: [{ pageSize: small, limit: 4194304 }], unified: big ? { [`hugetlb.${big}.max`]: '0' } : undefined } });
    handles.push(h);
    assert.is(read(`${h.record.paths['']}/hugetlb.${small}.max`), '4194304');
    if (big) assert.is(read(`${h.record.paths['']}/hugetlb.${big}.max`), '0');
    if (controllerOn('memory') === 'v1') assert.throws(() => prepareCgroup({ id: 'h2', cgroupsPath: `${BASE}/h2`, systemd: false, resources: { unified: { 'memory.high': '1' } } }), /^(invalid configuration: cannot use unified on cgroup v1: )?linux\.resources\.unified: cannot set memory\.high: controller memory is not available on the cgroup2 hierarchy .*it is on the cgroup v1 hierarchy/);
    h.destroy();
    assert.not.ok(fs.existsSync(h.record.paths['']));
  },
);

/** Every directory named BASE (or below it) in any hierarchy: what a failed create must not leave. */
function leftovers(): string[] {
  const roots = [...layout!.v1.map((x) => x.mountPoint), ...(layout!.unified ? [layout!.unified.mountPoint] : [])];
  return roots.map((r) => path.join(r, BASE)).filter((d) => fs.existsSync(d) && fs.readdirSync(d, { withFileTypes: true }).some((e) => e.isDirectory()));
}

hostTest(test, 'a hugepage size the host lacks: one line naming the size and the supported ones, nothing left behind', () => needAll(needs.root(), need(controllerOn('hugetlb'), 'no hugetlb controller on v1 or cgroup2'), needs.hugepages()), () => {
  const bogus = absentPageSize();
  assert.throws(
    () => prepareCgroup({ id: 'hp', cgroupsPath: `${BASE}/hp/x`, systemd: false, resources: { memory: { limit: 268435456 }, hugepageLimits: [{ pageSize: bogus, limit: 0 }] } }),
    (e: Error) => e.message === `linux.resources.hugepageLimits: page size ${bogus} is not supported by this host (supported: ${host().hugepageSizes.join(', ')})`,
  );
  assert.equal(leftovers().filter((d) => fs.existsSync(path.join(d, 'hp'))), []);
  for (const r of [...layout!.v1.map((x) => x.mountPoint), layout!.unified?.mountPoint].filter(Boolean) as string[]) assert.not.ok(fs.existsSync(path.join(r, BASE, 'hp')), `${r}${BASE}/hp left`);
});

hostTest(test, 'blkio weight on a v1 host without CFQ/BFQ: one line naming the field and the reason, nothing left behind', () => needAll(needs.root(), needs.v1('blkio'), need(!host().v1Files.blkioWeight, `this host has ${host().v1Files.blkioWeight}: the weight is honoured (checked by the side-by-side tests)`)), () => {
  assert.throws(
    () => prepareCgroup({ id: 'bw', cgroupsPath: `${BASE}/bw/x`, systemd: false, resources: { pids: { limit: 10 }, blockIO: { weight: 300 } } }),
    /^linux\.resources\.blockIO\.weight: this host cannot weight block I\/O: \/.*\/bw\/x has neither blkio\.weight \(CFQ scheduler\) nor blkio\.bfq\.weight \(BFQ scheduler not available\)$/,
  );
  for (const r of [...layout!.v1.map((x) => x.mountPoint), layout!.unified?.mountPoint].filter(Boolean) as string[]) assert.not.ok(fs.existsSync(path.join(r, BASE, 'bw')), `${r}${BASE}/bw left`);
});

/** Files compared between runc and tsrun for the same resources. */
const COMPARE = [
  'memory/memory.limit_in_bytes',
  'memory/memory.memsw.limit_in_bytes',
  'memory/memory.soft_limit_in_bytes',
  'memory/memory.swappiness',
  'memory/memory.oom_control',
  'cpu/cpu.shares',
  'cpu/cpu.cfs_quota_us',
  'cpu/cpu.cfs_period_us',
  'cpu/cpu.rt_period_us',
  'cpu/cpu.rt_runtime_us',
  'cpuset/cpuset.cpus',
  'cpuset/cpuset.mems',
  'pids/pids.max',
  'blkio/blkio.weight',
  'blkio/blkio.bfq.weight',
  'blkio/blkio.throttle.read_bps_device',
  'devices/devices.list',
];

hostTest(test, 'side by side with runc: same resources → same cgroup file values', () => needAll(needV1('memory', 'cpu', 'cpuset', 'pids', 'devices'), need(RUNC, 'runc not installed')), () => {
  const f = host().v1Files;
  const res: LinuxResources = {
    devices: [
      { allow: false, access: 'rwm' },
      { allow: true, type: 'c', major: 10, minor: 229, access: 'rw' },
    ],
    memory: { limit: 268435456, reservation: 134217728, ...(f.memorySwap ? { swap: 536870912 } : {}), swappiness: 30, disableOOMKiller: true },
    cpu: { shares: 512, quota: 50000, period: 100000, ...(f.cpuRt ? { realtimePeriod: 1000000, realtimeRuntime: 0 } : {}), cpus: '0', mems: '0' },
    pids: { limit: 123 },
    // Only the weight file this host has (runc fails on a missing one just as tsrun refuses it).
    blockIO: { ...(f.blkioWeight ? { weight: 300 } : {}), throttleReadBpsDevice: blockDev() ? [{ ...blockDev()!, rate: 1048576 }] : [] },
  };
  if (!f.blkioWeight) console.log('  (no blkio weight file on this host: the weight is left out of the comparison)');
  const bundle = path.join(tmp, 'bundle');
  makeBundle(bundle, {
    args: ['sleep', '300'],
    edit: (c) => {
      c.linux.cgroupsPath = `${BASE}/runc`;
      c.linux.resources = res;
    },
  });
  const runcRoot = path.join(tmp, 'runc-root');
  const id = `tsrun-sbs-${process.pid}`;
  let ours: CgroupHandle | undefined;
  try {
    // stdio to a file, not a pipe: the container keeps its stdio open and spawnSync would wait for EOF.
    const errFile = path.join(tmp, 'runc.err');
    const fd = fs.openSync(errFile, 'w');
    let r;
    try {
      r = spawnSync(RUNC!, ['--root', runcRoot, 'create', '--bundle', bundle, id], { stdio: ['ignore', fd, fd], timeout: 30_000 });
    } finally {
      fs.closeSync(fd);
    }
    assert.is(r.status, 0, `runc create: ${fs.readFileSync(errFile, 'utf8')}`);
    ours = prepareCgroup({ id, cgroupsPath: `${BASE}/ours`, systemd: false, resources: res });
    handles.push(ours);
    const mp = (c: string): string => layout!.v1.find((h) => h.controllers.includes(c))!.mountPoint;
    const diffs: string[] = [];
    let compared = 0;
    for (const f of COMPARE) {
      const [ctrl, file] = f.split('/');
      if (!layout!.v1.some((h) => h.controllers.includes(ctrl))) continue;
      const a = path.join(mp(ctrl), BASE, 'runc', file);
      const b = path.join(ours.record.paths[ctrl], file);
      if (!fs.existsSync(a)) continue;
      compared++;
      const va = read(a);
      const vb = read(b);
      if (va !== vb) diffs.push(`${f}: runc ${JSON.stringify(va)} tsrun ${JSON.stringify(vb)}`);
    }
    console.log(`  side by side: ${compared} files compared, ${diffs.length} different`);
    assert.equal(diffs, []);
    // Of COMPARE, the files this host has (no weight file without CFQ/BFQ, no memsw without swap accounting, no rt without RT sched).
    const expected = COMPARE.filter((x) => fs.existsSync(path.join(mp(x.split('/')[0]), BASE, 'runc', x.split('/')[1]))).length;
    assert.is(compared, expected);
    assert.ok(compared >= 8, `compared ${compared}`);
  } finally {
    spawnSync(RUNC!, ['--root', runcRoot, 'delete', '--force', id], { stdio: 'ignore', timeout: 30_000 });
    ours?.destroy();
  }
});

hostTest(test, 'commands: pause, resume, update, events --stats, ps on a container record', () => needV1('memory', 'pids', 'freezer', 'cpu'), () => {
  const root = path.join(tmp, 'state');
  const id = 'cmd1';
  const h = prepareCgroup({ id, cgroupsPath: `${BASE}/cmd1`, systemd: false, resources: { memory: { limit: 268435456 }, pids: { limit: 50 } } });
  handles.push(h);
  const child = sleeper();
  h.addProcess(child.pid!);
  const dir = createContainerDir(root, id);
  const rec: StateRecord = { ociVersion: '1.3.0', id, pid: child.pid!, initStartTime: readStartTime(child.pid!)!, bundle: tmp, rootfs: tmp, created: new Date().toISOString(), owner: 'root', cgroup: h.record as CgroupRecord };
  writeState(dir, rec);
  const ts = (args: string[], input?: string) => spawnSync(TSRUN, ['--root', root, ...args], { encoding: 'utf8', input, timeout: 30_000 });
  const p = h.record.paths;

  let r = ts(['resume', id]);
  assert.is(r.status, 1);
  assert.match(r.stderr, /container not paused/);
  r = ts(['pause', id]);
  assert.is(r.status, 0, r.stderr);
  assert.is(read(`${p.freezer}/freezer.state`), 'FROZEN');
  r = ts(['resume', id]);
  assert.is(r.status, 0, r.stderr);
  assert.is(read(`${p.freezer}/freezer.state`), 'THAWED');

  r = ts(['update', '--memory', '512m', '--pids-limit', '20', '--cpu-share', '300', id]);
  assert.is(r.status, 0, r.stderr);
  assert.is(read(`${p.memory}/memory.limit_in_bytes`), String(512 * 1024 * 1024));
  assert.is(read(`${p.pids}/pids.max`), '20');
  assert.is(read(`${p.cpu}/cpu.shares`), '300');
  r = ts(['update', '-r', '-', id], JSON.stringify({ memory: { limit: 100000000 }, pids: { limit: 30 } }));
  assert.is(r.status, 0, r.stderr);
  assert.is(read(`${p.memory}/memory.limit_in_bytes`), String(Math.floor(100000000 / 4096) * 4096));
  assert.is(read(`${p.pids}/pids.max`), '30');

  r = ts(['events', '--stats', id]);
  assert.is(r.status, 0, r.stderr);
  const ev = JSON.parse(r.stdout);
  assert.is(ev.type, 'stats');
  assert.is(ev.id, id);
  assert.is(ev.data.pids.current, 1);
  assert.is(ev.data.pids.limit, 30);
  assert.ok(ev.data.memory.usage.limit > 0, 'memory.usage.limit');
  assert.is(ev.data.network_interfaces, null);

  r = ts(['ps', '--format', 'json', id]);
  assert.is(r.status, 0, r.stderr);
  assert.equal(JSON.parse(r.stdout), [child.pid]);
  r = ts(['ps', id]);
  assert.is(r.status, 0, r.stderr);
  const lines = r.stdout.trim().split('\n');
  assert.match(lines[0], /PID/);
  assert.is(lines.length, 2);
  assert.match(lines[1], new RegExp(`\\b${child.pid}\\b.*sleep 300`));
  r = ts(['ps', id, '-o', 'pid,comm']);
  assert.is(r.status, 0, r.stderr);
  assert.match(r.stdout, new RegExp(`^\\s*PID COMMAND\\n\\s*${child.pid} sleep\\n$`));

  process.kill(child.pid!, 'SIGKILL');
  for (let i = 0; i < 100 && read(`${p.memory}/cgroup.procs`) !== ''; i++) sleepSync(10);
  h.destroy();
});

test.run();
