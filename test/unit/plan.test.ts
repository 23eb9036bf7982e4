import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { buildPlan, CLONE, type PlanInput } from '../../src/plan/build';
import { MS, parseMountOptions } from '../../src/plan/mount-options';
import { Msg, Op, type PlanStep } from '../../src/plan/ops';
import { decodePlan, encodePlan, framePlan } from '../../src/plan/wire';
import type { Spec } from '../../src/config/types';
import { planInput } from '../helpers/plan-input';

const MOUNTINFO = [
  '31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755',
  '32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu',
  '36 31 0:33 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory',
  '41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw',
].join('\n');

function input(edit?: (c: Spec) => void): PlanInput {
  return planInput({
    args: ['sh', '-c', 'echo hi'],
    edit,
    mountinfo: MOUNTINFO,
    procCgroup: '4:memory:/a/b\n1:cpu:/\n0::/x\n',
    extra: { isDirectory: (p) => !p.endsWith('.txt') },
  });
}

const ops = (steps: PlanStep[]) => steps.map((s) => s.op);
const fields = (s: PlanStep) => s.fields.map(String);

test('default spec: namespaces become clone flags', () => {
  const plan = buildPlan(input());
  assert.is(plan.cloneFlags, CLONE.NEWPID | CLONE.NEWNET | CLONE.NEWIPC | CLONE.NEWUTS | CLONE.NEWNS);
  assert.equal(plan.bootstrap, [], 'nothing joined: no staged entry');
});

test('steps follow runc order and end with ready, exec', () => {
  const o = ops(buildPlan(input()).steps);
  const idx = (op: Op) => o.indexOf(op);
  assert.is(o[0], Op.RootPropagation);
  assert.is(o[1], Op.BindRootfs);
  assert.ok(idx(Op.Mount) < idx(Op.Mknod));
  assert.ok(idx(Op.Mknod) < idx(Op.OpenFifo));
  assert.ok(idx(Op.OpenFifo) < idx(Op.PivotRoot));
  assert.ok(idx(Op.PivotRoot) < idx(Op.Hostname));
  assert.ok(idx(Op.Hostname) < idx(Op.ReadonlyPath));
  assert.ok(o.lastIndexOf(Op.ReadonlyPath) < idx(Op.MaskPath));
  assert.ok(o.lastIndexOf(Op.MaskPath) < idx(Op.RootReadonly));
  assert.ok(idx(Op.RootReadonly) < idx(Op.Rlimit));
  assert.ok(idx(Op.Chdir) < idx(Op.Identity));
  assert.equal(o.slice(-3), [Op.Identity, Op.Ready, Op.Exec]);
});

test('sysctls are written before /proc/sys is made read-only', () => {
  const o = ops(buildPlan(input((c) => (c.linux!.sysctl = { 'net.ipv4.ip_forward': '1' }))).steps);
  assert.ok(o.indexOf(Op.Sysctl) < o.indexOf(Op.ReadonlyPath));
  const s = buildPlan(input((c) => (c.linux!.sysctl = { 'net.ipv4.ip_forward': '1' }))).steps.find((x) => x.op === Op.Sysctl)!;
  assert.equal(fields(s), ['net/ipv4/ip_forward', '1']);
});

test('exec carries path, preserve count, argv and env', () => {
  const steps = buildPlan({ ...input(), preserveFds: 2 }).steps;
  const exec = fields(steps[steps.length - 1]);
  assert.equal(exec.slice(0, 6), ['/bin/sh', '2', '3', 'sh', '-c', 'echo hi']);
  assert.ok(exec[6].startsWith('PATH='));
});

test('identity: uid, gid, groups, umask, nnp and capability masks', () => {
  const steps = buildPlan(
    input((c) => {
      c.process!.user = { uid: 1000, gid: 1001, additionalGids: [5, 6], umask: 0o27 };
    }),
  ).steps;
  const id = fields(steps.find((s) => s.op === Op.Identity)!);
  // CAP_KILL(5) | CAP_NET_BIND_SERVICE(10) | CAP_AUDIT_WRITE(29)
  assert.equal(id, ['1000', '1001', '5,6', String(0o27), '1', '0000000020000420', '0000000020000420', '0000000000000000', '0000000020000420', '0000000000000000']);
});

test('unknown capabilities are skipped', () => {
  const plan = buildPlan(input((c) => c.process!.capabilities!.bounding!.push('CAP_NOPE')));
  const id = plan.steps.find((s) => s.op === Op.Identity)!;
  assert.is(String(id.fields[8]), '0000000020000420');
});

test('mount options map to flags, propagation and data', () => {
  const p = parseMountOptions(['nosuid', 'noexec', 'ro', 'rw', 'rslave', 'mode=755', 'size=1k'], 'm');
  assert.is(p.flags, MS.NOSUID | MS.NOEXEC);
  assert.equal(p.propagation, [MS.SLAVE | MS.REC]);
  assert.is(p.data, 'mode=755,size=1k');
  // The recursive r* options are mount_setattr bits now (see hooks-plan.test.ts), never mount(2) data.
  assert.is(parseMountOptions(['rro'], 'mounts[3]').data, '');
});

test('bind mounts: relative source from the bundle, file targets for files', () => {
  const steps = buildPlan(
    input((c) => {
      c.mounts!.push({ destination: '/data', type: 'bind', source: 'data', options: ['rbind', 'ro'] });
      c.mounts!.push({ destination: 'etc/x.txt', source: '/host/x.txt', options: ['bind'] });
    }),
  );
  const binds = steps.steps.filter((s) => s.op === Op.Mount && fields(s)[0].startsWith('/bundle/data') || fields(s)[0] === '/host/x.txt');
  assert.equal(fields(binds[0]), ['/bundle/data', '/data', '', String(MS.BIND | MS.REC | MS.RDONLY), '', '0', 'dir']);
  assert.equal(fields(binds[1]).slice(1, 2).concat(fields(binds[1]).slice(6)), ['/etc/x.txt', 'file']);
});

test('cgroup mount on a v1/hybrid host: tmpfs, own cgroup of each hierarchy, remount ro', () => {
  const steps = buildPlan(input()).steps.filter((s) => s.op === Op.Mount && fields(s)[1].startsWith('/sys/fs/cgroup'));
  assert.equal(fields(steps[0]).slice(0, 3), ['tmpfs', '/sys/fs/cgroup', 'tmpfs']);
  const binds = steps.slice(1, -1).map((s) => [fields(s)[0], fields(s)[1]]);
  assert.equal(binds, [
    ['/sys/fs/cgroup/cpu', '/sys/fs/cgroup/cpu'],
    ['/sys/fs/cgroup/memory/a/b', '/sys/fs/cgroup/memory'],
    ['/sys/fs/cgroup/unified/x', '/sys/fs/cgroup/unified'],
  ]);
  assert.ok(Number(fields(steps[steps.length - 1])[3]) & MS.REMOUNT);
});

test('namespace paths: staged: join user first, then the others, then create the rest in the joined user ns, pid last, then fork', () => {
  const plan = buildPlan(
    input((c) => {
      c.linux!.namespaces = [
        { type: 'pid', path: '/proc/1/ns/pid' },
        { type: 'network', path: '/var/run/netns/x' },
        { type: 'mount' },
        { type: 'user', path: '/proc/1/ns/user' },
      ];
    }),
  );
  // Not clone(NEWNS) then setns(user): that mount namespace would be owned by the host's user
  // namespace and every mount in it would fail with EPERM.
  assert.is(plan.cloneFlags, 0);
  assert.equal(
    plan.bootstrap.map((s) => [s.op, ...fields(s)]),
    [
      [Op.Setns, '/proc/1/ns/user', 'user'],
      [Op.Setns, '/var/run/netns/x', 'net'],
      [Op.Unshare, 'mnt'],
      [Op.Setns, '/proc/1/ns/pid', 'pid'],
      [Op.Fork],
    ],
  );
  assert.not.ok(plan.steps.some((s) => s.op === Op.Setns || s.op === Op.Fork), 'no join in the plan proper');
});

test('a new cgroup namespace is unshared by the init after it joined its cgroups, not cloned', () => {
  const plan = buildPlan(input((c) => c.linux!.namespaces!.push({ type: 'cgroup' })));
  assert.is(plan.cloneFlags & CLONE.NEWCGROUP, 0);
  const o = ops(plan.steps);
  assert.ok(o.includes(Op.Unshare));
  assert.equal(fields(plan.steps[o.indexOf(Op.Unshare)]), ['cgroup']);
  assert.ok(o.indexOf(Op.Unshare) < o.indexOf(Op.RootPropagation), 'before any mount (a cgroup mount shows the namespace root)');
  assert.not.ok(ops(buildPlan(input()).steps).includes(Op.Unshare));
});

test('the init joins its v1 cgroups first of all: before the console, any setns and the cgroup namespace', () => {
  const tasks = ['/sys/fs/cgroup/pids/c1/tasks', '/sys/fs/cgroup/memory/c1/tasks'];
  const fast = buildPlan({
    ...input((c) => {
      c.linux!.namespaces!.push({ type: 'cgroup' });
      c.process!.terminal = true;
    }),
    console: { fd: 4, rows: 0, cols: 0 },
    joinCgroups: tasks,
  });
  assert.equal(ops(fast.steps).slice(0, 2), [Op.JoinCgroup, Op.JoinCgroup]);
  assert.equal(fast.steps.slice(0, 2).map(fields), [[tasks[0]], [tasks[1]]]);
  assert.ok(ops(fast.steps).indexOf(Op.Unshare) > 1);
  assert.equal(fields(fast.steps[ops(fast.steps).indexOf(Op.ConsoleConnect)]), ['4'], 'the console socket is a passed fd');
  // Staged (a joined netns): in the bootstrap, before the join.
  const staged = buildPlan({ ...input((c) => c.linux!.namespaces!.push({ type: 'network', path: '/var/run/netns/x' })), joinCgroups: tasks });
  assert.equal(ops(staged.bootstrap).slice(0, 3), [Op.JoinCgroup, Op.JoinCgroup, Op.Setns]);
  assert.not.ok(ops(staged.steps).includes(Op.JoinCgroup));
  assert.not.ok(ops(buildPlan(input()).steps).includes(Op.JoinCgroup));
});

test('a private mount namespace is required', () => {
  assert.throws(() => buildPlan(input((c) => (c.linux!.namespaces = [{ type: 'pid' }]))), /mount namespace/);
});

test('/dev bind from the host: no default devices', () => {
  const plan = buildPlan(input((c) => c.mounts!.push({ destination: '/dev', source: '/dev', options: ['rbind'] })));
  assert.not.ok(plan.steps.some((s) => s.op === Op.Mknod));
});

test('shared rootfs propagation is applied after the pivot', () => {
  const steps = buildPlan(input((c) => (c.linux!.rootfsPropagation = 'rshared'))).steps;
  const props = steps.filter((s) => s.op === Op.RootPropagation).map((s) => Number(fields(s)[0]));
  assert.equal(props, [MS.SLAVE | MS.REC, MS.SHARED | MS.REC]);
});

test('wire: encode/decode round trip', () => {
  const steps = buildPlan(input()).steps;
  const back = decodePlan(encodePlan(steps));
  assert.equal(back.map((s) => s.op), steps.map((s) => s.op));
  assert.equal(back.map((s) => s.fields.map(String)), steps.map(fields));
});

test('wire: the plan frame is header + encoding, with multi-byte strings and buffers sized in bytes', () => {
  const steps: PlanStep[] = [
    { op: Op.Hostname, fields: ['h\u00e9te-\u2192'] },
    { op: Op.Chdir, fields: [Buffer.from([0, 1, 2]), ''] },
  ];
  const body = encodePlan(steps);
  const f = framePlan(steps);
  assert.is(f.readUInt32LE(0), Msg.Plan);
  assert.is(f.readUInt32LE(4), body.length);
  assert.ok(f.subarray(8).equals(body));
  const back = decodePlan(body);
  assert.equal(back.map((s) => s.fields.map((x) => Buffer.from(x).toString('hex'))), [
    [Buffer.from('h\u00e9te-\u2192', 'utf8').toString('hex')],
    ['000102', ''],
  ]);
});

test.run();
