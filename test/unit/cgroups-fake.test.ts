/** The cgroup library against fake cgroupfs trees: exact writes, conversions, cleanup, errors. */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';

import { openCgroup, prepareCgroup, traceWrites, ERR_NO_SYSTEMD, stringifyU64 } from '../../src/cgroups';
import { makeFakeHybrid, makeFakeV1, makeFakeV2 } from '../../src/cgroups/fake-tree';
import type { LinuxResources } from '../../src/config/types';
import { systemdRunning } from '../../src/cgroups/systemd';

const tmps: string[] = [];
function tmp(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'tsrun-cg-'));
  tmps.push(d);
  return d;
}
test.after(() => {
  for (const d of tmps) fs.rmSync(d, { recursive: true, force: true });
});

const FULL: LinuxResources = {
  devices: [
    { allow: false, access: 'rwm' },
    { allow: true, type: 'c', major: 10, minor: 229, access: 'rw' },
  ],
  memory: { limit: 268435456, reservation: 134217728, swap: 536870912, kernel: 104857600, kernelTCP: 52428800, swappiness: 30, disableOOMKiller: true, useHierarchy: true },
  cpu: { shares: 512, quota: 50000, period: 100000, burst: 10000, realtimeRuntime: 900000, realtimePeriod: 1000000, cpus: '0', mems: '0', idle: 0 },
  pids: { limit: 123 },
  blockIO: {
    weight: 300,
    weightDevice: [{ major: 8, minor: 0, weight: 500 }],
    throttleReadBpsDevice: [{ major: 8, minor: 0, rate: 1048576 }],
    throttleWriteBpsDevice: [{ major: 8, minor: 0, rate: 2097152 }],
    throttleReadIOPSDevice: [{ major: 8, minor: 0, rate: 100 }],
    throttleWriteIOPSDevice: [{ major: 8, minor: 0, rate: 200 }],
  },
  hugepageLimits: [{ pageSize: '2MB', limit: 8388608 }],
  network: { classID: 1048577, priorities: [{ name: 'eth0', priority: 5 }, { name: 'lo', priority: 1 }] },
  rdma: { mlx5_1: { hcaHandles: 3, hcaObjects: 10000 }, mlx4_0: { hcaHandles: 1 } },
};

const rel = (root: string, ws: { path: string; value: string }[]): string[] => ws.map((w) => `${path.relative(root, w.path)}=${w.value}`);

test('v1: every resource is written to its controller, in runc order', () => {
  const root = tmp();
  makeFakeV1(root);
  let h!: ReturnType<typeof prepareCgroup>;
  const writes = traceWrites(() => {
    h = prepareCgroup({ id: 'c1', cgroupsPath: '/a/c1', systemd: false, resources: FULL }, root);
  });
  assert.equal(h.record.mode, 'v1');
  assert.equal(h.record.paths.memory, path.join(root, 'memory/a/c1'));
  assert.equal(h.record.paths['name=systemd'], path.join(root, 'systemd/a/c1'));
  assert.equal(rel(root, writes), [
    // cpuset parents get cpus/mems from above (empty in a new cpuset cgroup)
    'cpuset/a/cpuset.cpus=0-1',
    'cpuset/a/cpuset.mems=0',
    'cpuset/a/c1/cpuset.cpus=0-1',
    'cpuset/a/c1/cpuset.mems=0',
    'cpuset/a/c1/cpuset.cpus=0',
    'cpuset/a/c1/cpuset.mems=0',
    'cpu/a/c1/cpu.rt_period_us=1000000',
    'cpu/a/c1/cpu.rt_runtime_us=900000',
    'cpu/a/c1/cpu.shares=512',
    'cpu/a/c1/cpu.cfs_period_us=100000',
    'cpu/a/c1/cpu.cfs_quota_us=50000',
    'cpu/a/c1/cpu.cfs_burst_us=10000',
    'cpu/a/c1/cpu.idle=0',
    // current limit (unlimited) is not < swap: memory first, then memsw
    'memory/a/c1/memory.limit_in_bytes=268435456',
    'memory/a/c1/memory.memsw.limit_in_bytes=536870912',
    'memory/a/c1/memory.kmem.limit_in_bytes=104857600',
    'memory/a/c1/memory.kmem.tcp.limit_in_bytes=52428800',
    'memory/a/c1/memory.soft_limit_in_bytes=134217728',
    'memory/a/c1/memory.oom_control=1',
    'memory/a/c1/memory.swappiness=30',
    'pids/a/c1/pids.max=123',
    'blkio/a/c1/blkio.bfq.weight=300',
    'blkio/a/c1/blkio.bfq.weight_device=8:0 500',
    'blkio/a/c1/blkio.throttle.read_bps_device=8:0 1048576',
    'blkio/a/c1/blkio.throttle.write_bps_device=8:0 2097152',
    'blkio/a/c1/blkio.throttle.read_iops_device=8:0 100',
    'blkio/a/c1/blkio.throttle.write_iops_device=8:0 200',
    'hugetlb/a/c1/hugetlb.2MB.limit_in_bytes=8388608',
    'hugetlb/a/c1/hugetlb.2MB.rsvd.limit_in_bytes=8388608',
    'net_cls/a/c1/net_cls.classid=1048577',
    'net_prio/a/c1/net_prio.ifpriomap=eth0 5',
    'net_prio/a/c1/net_prio.ifpriomap=lo 1',
    'rdma/a/c1/rdma.max=mlx4_0 hca_handle=1',
    'rdma/a/c1/rdma.max=mlx5_1 hca_handle=3 hca_object=10000',
    // deny all, then the allows sorted as runc's emulator writes them
    'devices/a/c1/devices.deny=a',
    'devices/a/c1/devices.allow=b *:* m',
    'devices/a/c1/devices.allow=c *:* m',
    'devices/a/c1/devices.allow=c 1:3 rwm',
    'devices/a/c1/devices.allow=c 1:5 rwm',
    'devices/a/c1/devices.allow=c 1:7 rwm',
    'devices/a/c1/devices.allow=c 1:8 rwm',
    'devices/a/c1/devices.allow=c 1:9 rwm',
    'devices/a/c1/devices.allow=c 5:0 rwm',
    'devices/a/c1/devices.allow=c 5:2 rwm',
    'devices/a/c1/devices.allow=c 10:200 rwm',
    'devices/a/c1/devices.allow=c 10:229 rw',
    'devices/a/c1/devices.allow=c 136:* rwm',
  ]);
  assert.equal(h.warnings, []);
  // addProcess: cgroup.procs of every hierarchy (cpu and cpuacct are separate mounts here)
  const joins = traceWrites(() => h.addProcess(4242));
  assert.equal(joins.length, 13);
  assert.ok(joins.every((w) => w.value === '4242' && w.path.endsWith('/a/c1/cgroup.procs')));
  h.destroy();
  assert.not.ok(fs.existsSync(path.join(root, 'memory/a')), 'created parent removed too');
  assert.ok(fs.existsSync(path.join(root, 'memory/memory.limit_in_bytes')));
});

test('v1: swap raised above the current limit is written before memory; -1 memory makes swap -1', () => {
  const root = tmp();
  makeFakeV1(root, ['memory']);
  fs.mkdirSync(path.join(root, 'memory/pre'));
  for (const f of fs.readdirSync(path.join(root, 'memory'))) if (f !== 'pre') fs.writeFileSync(path.join(root, 'memory/pre', f), fs.readFileSync(path.join(root, 'memory', f)));
  fs.writeFileSync(path.join(root, 'memory/pre/memory.limit_in_bytes'), '100000');
  let h!: ReturnType<typeof prepareCgroup>;
  let w = traceWrites(() => {
    h = prepareCgroup({ id: 'x', cgroupsPath: '/pre', systemd: false, resources: { memory: { limit: 200000, swap: 400000 } } }, root);
  });
  assert.equal(rel(root, w), ['memory/pre/memory.memsw.limit_in_bytes=400000', 'memory/pre/memory.limit_in_bytes=200000']);
  assert.equal(h.record.created, [], 'joined an existing cgroup: created nothing');
  w = traceWrites(() => openCgroup(h.record).update({ memory: { limit: -1 } }));
  assert.equal(rel(root, w), ['memory/pre/memory.memsw.limit_in_bytes=-1', 'memory/pre/memory.limit_in_bytes=-1']);
  h.destroy();
  assert.ok(fs.existsSync(path.join(root, 'memory/pre')), 'a pre-existing cgroup is never removed');
});

test('v1: checkBeforeUpdate rejects a limit below usage (update only)', () => {
  const root = tmp();
  makeFakeV1(root, ['memory']);
  const h = prepareCgroup({ id: 'x', systemd: false, resources: { memory: { limit: 1000, checkBeforeUpdate: true } } }, root);
  assert.throws(() => openCgroup(h.record).update({ memory: { limit: 1000, checkBeforeUpdate: true } }), /rejecting memory limit 1000 below current usage 4096/);
  openCgroup(h.record).update({ memory: { limit: 1000 } });
  h.destroy();
});

test('onPlanned: every path and every missing directory, before any is made (a killed create can be cleaned up)', () => {
  const root = tmp();
  makeFakeHybrid(root, ['memory', 'pids'], '');
  const seen: { paths: Record<string, string>; created: string[]; existed: boolean[] }[] = [];
  const h = prepareCgroup(
    { id: 'x', cgroupsPath: '/p/x', systemd: false, onPlanned: (r) => seen.push({ paths: r.paths, created: r.created, existed: r.created.map((d) => fs.existsSync(d)) }) },
    root,
  );
  assert.is(seen.length, 1);
  assert.equal(seen[0].paths, h.record.paths);
  assert.equal(seen[0].created, h.record.created);
  assert.ok(seen[0].existed.every((e) => !e), 'nothing made yet');
  h.destroy();
  for (const d of tmps) fs.rmSync(d, { recursive: true, force: true });
});

test('v1: unified is an error; a failing write names controller and path and removes what was created', () => {
  const root = tmp();
  makeFakeV1(root, ['memory', 'pids']);
  assert.throws(() => prepareCgroup({ id: 'x', systemd: false, resources: { unified: { 'memory.high': '1000' } } }, root), /unified requires cgroup v2/);
  fs.rmSync(path.join(root, 'pids/pids.max'));
  let err: Error | undefined;
  try {
    prepareCgroup({ id: 'x', cgroupsPath: 'p/x', systemd: false, resources: { pids: { limit: 5 }, memory: { limit: 4096 } } }, root);
  } catch (e) {
    err = e as Error;
  }
  assert.ok(err);
  assert.match(err!.message, /^cannot set pids limit: write "5" to .*\/pids\/p\/x\/pids.max: ENOENT/);
  assert.not.ok(fs.existsSync(path.join(root, 'pids/p')));
  assert.not.ok(fs.existsSync(path.join(root, 'memory/p')));
  assert.throws(() => prepareCgroup({ id: 'x', systemd: false, resources: { hugepageLimits: [{ pageSize: '2MB', limit: 1 }] } }, root), /^linux\.resources\.hugepageLimits: cannot set hugetlb limit: the hugetlb controller is not mounted/);
});

/** Every directory below root (the fake hierarchies' own top directories excluded). */
function dirsBelow(root: string, depth = 1): string[] {
  const out: string[] = [];
  for (const e of fs.readdirSync(root, { withFileTypes: true })) {
    if (!e.isDirectory()) continue;
    if (depth <= 0) out.push(path.join(root, e.name));
    out.push(...dirsBelow(path.join(root, e.name), depth - 1));
  }
  return out;
}

test('a knob the host lacks: one line naming the resource and the reason, before any write, nothing left behind (v1, v2, hybrid, update)', () => {
  const expectOneLine = (fn: () => unknown, re: RegExp): string[] => {
    let err: Error | undefined;
    const writes = traceWrites(() => {
      try {
        fn();
      } catch (e) {
        err = e as Error;
      }
    });
    assert.ok(err, 'failed');
    assert.match(err!.message, re);
    assert.not.match(err!.message, /\n/);
    assert.equal(writes.filter((w) => !w.path.endsWith('cgroup.subtree_control') && !/cpuset\.(cpus|mems)$/.test(w.path)), [], 'no resource written');
    return writes.filter((w) => w.path.endsWith('cgroup.subtree_control')).map((w) => w.value);
  };
  // v1: hugetlb knows 2MB and 1GB; blkio without any weight file (no CFQ, no BFQ).
  const v1 = tmp();
  makeFakeV1(v1);
  for (const f of ['blkio.bfq.weight', 'blkio.bfq.weight_device']) fs.rmSync(path.join(v1, 'blkio', f));
  expectOneLine(() => prepareCgroup({ id: 'k', cgroupsPath: '/k', systemd: false, resources: { memory: { limit: 4096 }, hugepageLimits: [{ pageSize: '64KB', limit: 65536 }] } }, v1), /^linux\.resources\.hugepageLimits: page size 64KB is not supported by this host \(supported: 2MB, 1GB\)$/);
  expectOneLine(() => prepareCgroup({ id: 'k', cgroupsPath: '/k', systemd: false, resources: { memory: { limit: 4096 }, blockIO: { weight: 300 } } }, v1), /^linux\.resources\.blockIO\.weight: this host cannot weight block I\/O: .*\/blkio\/k has neither blkio\.weight \(CFQ scheduler\) nor blkio\.bfq\.weight \(BFQ scheduler not available\)$/);
  expectOneLine(() => prepareCgroup({ id: 'k', cgroupsPath: '/k', systemd: false, resources: { blockIO: { weightDevice: [{ major: 8, minor: 0, weight: 10 }] } } }, v1), /^linux\.resources\.blockIO\.weightDevice: this host cannot weight block I\/O/);
  assert.equal(dirsBelow(v1), [], 'nothing left behind (v1)');
  // Throttles need no scheduler: still fine.
  const ok = prepareCgroup({ id: 'k', cgroupsPath: '/k', systemd: false, resources: { blockIO: { throttleReadBpsDevice: [{ major: 8, minor: 0, rate: 1 }] }, hugepageLimits: [{ pageSize: '1GB', limit: 0 }] } }, v1);
  // update: refused before anything is written, the cgroup keeps its values.
  expectOneLine(() => openCgroup(ok.record).update({ memory: { limit: 8192 }, hugepageLimits: [{ pageSize: '16GB', limit: 0 }] }), /^linux\.resources\.hugepageLimits: page size 16GB is not supported by this host/);
  assert.is(fs.readFileSync(path.join(v1, 'memory/k/memory.limit_in_bytes'), 'utf8'), '9223372036854771712');
  ok.destroy();
  // unified on a v1-only host: runc's words (ErrV1NoUnified), which runc's own suite matches.
  expectOneLine(() => prepareCgroup({ id: 'k', cgroupsPath: '/k', systemd: false, resources: { unified: { 'memory.min': '131072' } } }, v1), /^invalid configuration: cannot use unified on cgroup v1 /);
  // v2: only 2MB pages; neither io.weight nor io.bfq.weight.
  const v2 = tmp();
  makeFakeV2(v2);
  fs.rmSync(path.join(v2, 'io.weight'));
  expectOneLine(() => prepareCgroup({ id: 'k', cgroupsPath: '/k', systemd: false, resources: { hugepageLimits: [{ pageSize: '1GB', limit: 0 }] } }, v2), /^linux\.resources\.hugepageLimits: page size 1GB is not supported by this host \(supported: 2MB\)$/);
  expectOneLine(() => prepareCgroup({ id: 'k', cgroupsPath: '/k', systemd: false, resources: { blockIO: { weight: 300 } } }, v2), /^linux\.resources\.blockIO\.weight: this host cannot weight block I\/O: .*\/k has neither io\.bfq\.weight \(BFQ scheduler\) nor io\.weight/);
  assert.equal(dirsBelow(v2, 0), [], 'nothing left behind (v2)');
  // hybrid: hugetlb on cgroup2 (2MB only), memory on v1; a unified key for a v1 controller names where it is.
  const hy = tmp();
  makeFakeHybrid(hy, ['memory', 'pids'], 'hugetlb');
  const sub = expectOneLine(() => prepareCgroup({ id: 'k', cgroupsPath: '/k', systemd: false, resources: { memory: { limit: 4096 }, hugepageLimits: [{ pageSize: '1GB', limit: 0 }] } }, hy), /^linux\.resources\.hugepageLimits: page size 1GB is not supported by this host \(supported: 2MB\)$/);
  // hugetlb enabled in the cgroup2 root for the fallback is disabled again: the root's controllers are as found.
  assert.equal(sub, ['+hugetlb', '-hugetlb']);
  expectOneLine(() => prepareCgroup({ id: 'k', cgroupsPath: '/k', systemd: false, resources: { unified: { 'memory.high': '1' } } }, hy), /^invalid configuration: cannot use unified on cgroup v1: linux\.resources\.unified: cannot set memory\.high: controller memory is not available on the cgroup2 hierarchy .* \(hybrid host: it is on the cgroup v1 hierarchy .*\/memory\)$/);
  assert.equal(dirsBelow(hy), [], 'nothing left behind (hybrid)');
});

test('v2: conversions (cpu.weight, cpu.max, io.weight, memory.swap.max) and subtree_control', () => {
  const root = tmp();
  makeFakeV2(root);
  fs.rmSync(path.join(root, 'hugetlb.2MB.rsvd.max'));
  const r: LinuxResources = { ...FULL, cpu: { shares: 1024, quota: 50000, period: 100000, burst: 1000, cpus: '1', mems: '0', idle: 1 }, network: undefined, memory: { limit: 268435456, reservation: 134217728, swap: 536870912 }, unified: { 'memory.high': '200000000', 'cgroup.max.depth': '4' } };
  let h!: ReturnType<typeof prepareCgroup>;
  const writes = traceWrites(() => {
    h = prepareCgroup({ id: 'c2', cgroupsPath: '/k8s/c2', systemd: false, resources: r }, root);
  });
  assert.equal(h.record.mode, 'v2');
  assert.equal(h.record.paths, { '': path.join(root, 'k8s/c2') });
  assert.equal(rel(root, writes), [
    'cgroup.subtree_control=+cpuset +cpu +io +memory +hugetlb +pids +rdma',
    'k8s/cgroup.subtree_control=+cpuset +cpu +io +memory +hugetlb +pids +rdma',
    'k8s/c2/cpuset.cpus=1',
    'k8s/c2/cpuset.mems=0',
    'k8s/c2/cpu.idle=1',
    'k8s/c2/cpu.weight=39',
    'k8s/c2/cpu.max=50000 100000',
    'k8s/c2/cpu.max.burst=1000',
    'k8s/c2/memory.swap.max=268435456',
    'k8s/c2/memory.max=268435456',
    'k8s/c2/memory.low=134217728',
    'k8s/c2/pids.max=123',
    'k8s/c2/io.weight=2930',
    'k8s/c2/io.max=8:0 rbps=1048576',
    'k8s/c2/io.max=8:0 wbps=2097152',
    'k8s/c2/io.max=8:0 riops=100',
    'k8s/c2/io.max=8:0 wiops=200',
    'k8s/c2/hugetlb.2MB.max=8388608',
    'k8s/c2/rdma.max=mlx4_0 hca_handle=1',
    'k8s/c2/rdma.max=mlx5_1 hca_handle=3 hca_object=10000',
    // the device program is traced as a pseudo-write (no cgroup file has this name)
    'k8s/c2/<BPF_PROG_TYPE_CGROUP_DEVICE>=14 device rules',
    'k8s/c2/memory.high=200000000',
    'k8s/c2/cgroup.max.depth=4',
  ]);
  // v2 device rules: a BPF_CGROUP_DEVICE program (on a fake tree only its listing is written).
  assert.not.ok(h.warnings.some((w) => /device/.test(w)), 'no device warning on v2');
  const listing = fs.readFileSync(path.join(root, 'k8s/c2/devices.bpf'), 'utf8').trim().split('\n');
  assert.is(listing[0], 'ldxw r2, [r1+0]');
  assert.is(listing[listing.length - 1], 'exit');
  assert.ok(h.warnings.some((w) => /weightDevice 8:0 ignored/.test(w)));
  // update: quota only → "quota" with no period; shares → weight
  const w2 = traceWrites(() => openCgroup(h.record).update({ cpu: { quota: -1 }, memory: { limit: -1 } }));
  assert.equal(rel(root, w2), ['k8s/c2/cpu.max=max', 'k8s/c2/memory.swap.max=max', 'k8s/c2/memory.max=max']);
  // freeze via cgroup.freeze + cgroup.events
  const cg = openCgroup(h.record);
  fs.writeFileSync(path.join(root, 'k8s/c2/cgroup.events'), 'populated 1\nfrozen 1\n');
  cg.freeze();
  assert.ok(cg.isFrozen());
  cg.thaw();
  assert.not.ok(cg.isFrozen());
  fs.writeFileSync(path.join(root, 'k8s/c2/cgroup.procs'), '12\n7\n');
  fs.mkdirSync(path.join(root, 'k8s/c2/sub'));
  fs.writeFileSync(path.join(root, 'k8s/c2/sub/cgroup.procs'), '99\n');
  assert.equal(cg.pids(), [7, 12, 99]);
  h.destroy();
  assert.not.ok(fs.existsSync(path.join(root, 'k8s')));
});

test('v2: realtime is an error, unknown unified key too', () => {
  const root = tmp();
  makeFakeV2(root);
  assert.throws(() => prepareCgroup({ id: 'x', systemd: false, resources: { cpu: { realtimeRuntime: 1000 } } }, root), /not supported on cgroup v2/);
  assert.throws(() => prepareCgroup({ id: 'x', systemd: false, resources: { unified: { 'foo.bar': '1' } } }, root), /cannot set unified resource foo.bar: controller foo is not enabled/);
  assert.throws(() => prepareCgroup({ id: 'x', systemd: false, resources: { unified: { '../x.y': '1' } } }, root), /invalid linux.resources.unified key/);
  assert.equal(fs.readdirSync(root, { withFileTypes: true }).filter((e) => e.isDirectory()), [], 'nothing left behind');
});

test('hybrid: resources on v1, hugetlb falls back to cgroup2, unified keys need the controller there', () => {
  const root = tmp();
  makeFakeHybrid(root, ['memory', 'pids', 'freezer'], 'hugetlb');
  let h!: ReturnType<typeof prepareCgroup>;
  const writes = traceWrites(() => {
    h = prepareCgroup({ id: 'h1', systemd: false, resources: { memory: { limit: 4096 }, hugepageLimits: [{ pageSize: '2MB', limit: 2097152 }], unified: { 'hugetlb.2MB.rsvd.max': '4194304' } } }, root);
  });
  assert.equal(h.record.mode, 'hybrid');
  assert.equal(h.record.v2Fallback, ['hugetlb']);
  assert.equal(h.record.paths[''], path.join(root, 'unified/h1'));
  assert.equal(rel(root, writes), [
    'unified/cgroup.subtree_control=+hugetlb',
    'memory/h1/memory.limit_in_bytes=4096',
    'unified/h1/hugetlb.2MB.max=2097152',
    'unified/h1/hugetlb.2MB.rsvd.max=2097152',
    'unified/h1/hugetlb.2MB.rsvd.max=4194304',
  ]);
  assert.equal(
    rel(root, traceWrites(() => h.addProcess(77))).sort(),
    ['freezer/h1/cgroup.procs=77', 'memory/h1/cgroup.procs=77', 'pids/h1/cgroup.procs=77', 'unified/h1/cgroup.procs=77'],
  );
  // the freezer is v1's
  const cg = openCgroup(h.record);
  const fw = traceWrites(() => {
    fs.writeFileSync(path.join(root, 'freezer/h1/freezer.state'), 'FROZEN');
    cg.freeze();
  });
  assert.equal(rel(root, fw), ['freezer/h1/freezer.state=FROZEN']);
  assert.ok(cg.isFrozen());
  h.destroy();
  assert.throws(() => prepareCgroup({ id: 'h2', systemd: false, resources: { unified: { 'memory.high': '1' } } }, root), /controller memory is not available on the cgroup2 hierarchy/);
  assert.equal(fs.readdirSync(path.join(root, 'memory'), { withFileTypes: true }).filter((e) => e.isDirectory()), [], 'nothing left behind');
});

test('systemd driver: a clear error, no silent fallback; manager disabled: nothing', () => {
  if (!systemdRunning()) assert.throws(() => prepareCgroup({ id: 'x', systemd: true, cgroupsPath: 'system.slice:tsrun:x' }), (e: Error) => e.message === ERR_NO_SYSTEMD);
  assert.throws(() => prepareCgroup({ id: 'x', systemd: true, cgroupsPath: '/not/systemd' }), /slice:prefix:name/);
  const h = prepareCgroup({ id: 'x', systemd: false, manager: 'disabled', resources: FULL });
  assert.equal(h.record.mode, 'disabled');
  h.addProcess(1);
  h.destroy();
});

test('stats: runc events shape, uint64 above 2^53 printed exactly', () => {
  const root = tmp();
  makeFakeV1(root, ['memory', 'pids', 'cpu', 'cpuacct']);
  const h = prepareCgroup({ id: 's', systemd: false, resources: { pids: { limit: 10 } } }, root);
  const json = stringifyU64(openCgroup(h.record).stats());
  assert.match(json, /"usage":\{"limit":9223372036854771712,"usage":4096,"max":8192,"failcnt":0\}/);
  assert.match(json, /"pids":\{"limit":10\}/);
  assert.match(json, /"cpu":\{"usage":\{"total":1000,"percpu":\[600,400\],"percpu_kernel":\[500,400\],"percpu_user":\[100,0\],"kernel":20000000,"user":10000000\},"throttling":\{\}\}/);
  assert.match(json, /"raw":\{"cache":0,"rss":4096\}/);
  assert.match(json, /"intel_rdt":\{\},"network_interfaces":null\}$/);
  h.destroy();
});

test.run();
