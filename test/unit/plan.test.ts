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
  assert.equal(o.slice(-5), [Op.Home, Op.Identity, Op.LookPath, Op.Ready, Op.Exec]);
});

test('args[0] is looked up by the init as the process (after chdir and identity), before READY, with PATH from process.env', () => {
  const steps = buildPlan(input((c) => (c.process!.env = ['PATH=/x', 'A=1', 'PATH=/opt/bin:/bin']))).steps;
  const o = ops(steps);
  assert.ok(o.indexOf(Op.Chdir) < o.indexOf(Op.Identity) && o.indexOf(Op.Identity) < o.indexOf(Op.LookPath));
  assert.ok(o.indexOf(Op.LookPath) < o.indexOf(Op.Ready));
  // the last PATH wins, as in runc's env; create's eaccess failure is worded "exec <path>"
  assert.equal(fields(steps.find((s) => s.op === Op.LookPath)!), ['sh', '/opt/bin:/bin', 'exec']);
  // no PATH: nothing is searched (runc)
  const none = buildPlan(input((c) => (c.process!.env = ['A=1']))).steps;
  assert.equal(fields(none.find((s) => s.op === Op.LookPath)!), ['sh', '', 'exec']);
  // a relative command is passed as is: the init resolves it against process.cwd
  const rel = buildPlan(input((c) => ((c.process!.args = ['./server']), (c.process!.cwd = '/app')))).steps;
  assert.equal(fields(rel.find((s) => s.op === Op.LookPath)!)[0], './server');
  assert.ok(ops(rel).indexOf(Op.Chdir) < ops(rel).indexOf(Op.LookPath));
});

test('HOME: read from the container\'s passwd for the process uid when process.env has none', () => {
  const steps = buildPlan(input((c) => (c.process!.user = { uid: 1000, gid: 1000 }))).steps;
  const o = ops(steps);
  assert.equal(fields(steps.find((s) => s.op === Op.Home)!), ['1000']);
  assert.ok(o.indexOf(Op.PivotRoot) < o.indexOf(Op.Home) && o.indexOf(Op.Home) < o.indexOf(Op.Identity));
  for (const env of [['HOME=/data'], ['HOME=']]) {
    const given = buildPlan(input((c) => c.process!.env!.push(...env))).steps;
    assert.not.ok(given.some((s) => s.op === Op.Home), `${env[0]}: process.env decides`);
  }
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
  // the path is what OP_LOOKPATH found in the container (empty field)
  assert.equal(exec.slice(0, 6), ['', '2', '3', 'sh', '-c', 'echo hi']);
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

test('namespace paths: staged: join user first, then the others, then create the rest in the joined user ns; a joined pid ns after the root switch', () => {
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
      [Op.Setns, '/proc/1/ns/pid', 'pid', 'open'],
      [Op.Setns, '/proc/1/ns/user', 'user'],
      [Op.Setns, '/var/run/netns/x', 'net'],
      [Op.Unshare, 'mnt'],
    ],
  );
  // The pid namespace has members: entered only after the root switch; procfs (the mounter's pid
  // namespace) by the child. In a user namespace the old root stays stacked until then.
  const o = ops(plan.steps);
  const pivot = o.indexOf(Op.PivotRoot);
  const proc = plan.steps.findIndex((s) => s.op === Op.Mount && s.fields[2] === 'proc');
  assert.equal(fields(plan.steps[pivot]), ['stack']);
  assert.equal(plan.steps.slice(pivot + 1, pivot + 3).map((s) => [s.op, ...fields(s)]), [[Op.Setns, '', 'pid'], [Op.Fork, 'wait']]);
  assert.ok(proc > pivot + 2, 'procfs is mounted by the child');
  assert.ok(plan.steps.slice(0, pivot).every((s) => s.op !== Op.Mount || s.fields[2] !== 'proc'), 'no procfs before the fork');
  const detach = plan.steps.findIndex((s) => s.op === Op.PivotRoot && fields(s)[0] === 'detach');
  assert.ok(detach > proc, 'the old root is detached after the child\'s procfs');
  assert.ok(o.indexOf(Op.MaskPath) > detach, 'masks (on the child\'s /proc) come after');
  assert.equal(plan.warnings, []);
});

test('a joined pid namespace without a user namespace: plain pivot, then the fork; with --no-pivot after the move; without a mount namespace after the chroot', () => {
  const nss = (c: Spec, mount: boolean) => {
    c.linux!.namespaces = [{ type: 'pid', path: '/proc/1/ns/pid' }, ...(mount ? [{ type: 'mount' as const }] : [])];
    if (!mount) {
      c.mounts = [];
      c.linux!.maskedPaths = [];
      c.linux!.readonlyPaths = [];
    }
  };
  const after = (steps: PlanStep[], op: Op) => steps.slice(steps.findIndex((s) => s.op === op) + 1).slice(0, 2).map((s) => [s.op, ...fields(s)]);
  const plain = buildPlan(input((c) => nss(c, true)));
  assert.equal(fields(plain.steps.find((s) => s.op === Op.PivotRoot)!), []);
  assert.equal(after(plain.steps, Op.PivotRoot), [[Op.Setns, '', 'pid'], [Op.Fork, 'wait']]);
  const moved = buildPlan({ ...input((c) => nss(c, true)), noPivot: true });
  assert.equal(after(moved.steps, Op.MoveRoot), [[Op.Setns, '', 'pid'], [Op.Fork, 'wait']]);
  const chroot = buildPlan(input((c) => nss(c, false)));
  assert.equal(after(chroot.steps, Op.Chroot), [[Op.Setns, '', 'pid'], [Op.Fork, 'wait']]);
});

test('a joined pid namespace with a createContainer hook: runc\'s order (pid before the rootfs), with a warning', () => {
  const plan = buildPlan(
    input((c) => {
      c.linux!.namespaces = [{ type: 'pid', path: '/proc/1/ns/pid' }, { type: 'mount' }];
      c.hooks = { createContainer: [{ path: '/bin/true' }] };
    }),
  );
  assert.equal(plan.bootstrap.map((s) => [s.op, ...fields(s)]), [[Op.Unshare, 'mnt'], [Op.Setns, '/proc/1/ns/pid', 'pid'], [Op.Fork]]);
  assert.not.ok(plan.steps.some((s) => s.op === Op.Fork || s.op === Op.Setns));
  assert.match(plan.warnings.join('\n'), /createContainer hooks need the container's pid before pivot_root/);
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

test('no mount namespace: the caller\'s mount table is never touched, the init chroots into the rootfs (runc chroots too)', () => {
  const noMnt = (c: Spec) => {
    c.linux!.namespaces = [{ type: 'pid' }, { type: 'uts' }];
    c.linux!.maskedPaths = [];
    c.linux!.readonlyPaths = [];
    c.root!.readonly = true;
    c.linux!.devices = [{ path: '/dev/fuse', type: 'c', major: 10, minor: 229 }];
  };
  const plan = buildPlan(input(noMnt));
  assert.is(plan.cloneFlags & CLONE.NEWNS, 0);
  const o = ops(plan.steps);
  for (const never of [Op.RootPropagation, Op.BindRootfs, Op.Mount, Op.Mknod, Op.Symlink, Op.PivotRoot, Op.MoveRoot, Op.RootReadonly, Op.MountSetattr]) {
    assert.not.ok(o.includes(never), `op ${never} must not run in the caller's mount namespace`);
  }
  const chroot = plan.steps.find((s) => s.op === Op.Chroot);
  assert.equal(chroot && fields(chroot), ['/bundle/rootfs']);
  assert.ok(o.indexOf(Op.OpenFifo) < o.indexOf(Op.Chroot), 'the fifo is opened by its host path first');
  assert.ok(o.indexOf(Op.Chroot) < o.indexOf(Op.Chdir));
  assert.ok(o.includes(Op.Hostname) && o.includes(Op.Identity) && o.at(-1) === Op.Exec);
  // A terminal: the pty is made before the chroot (the rootfs has no devpts) and not bound onto /dev/console.
  const tty = buildPlan({ ...input(noMnt), console: { fd: 5, rows: 24, cols: 80 } });
  const to = ops(tty.steps);
  assert.ok(to.indexOf(Op.ConsoleSetup) < to.indexOf(Op.Chroot));
  assert.equal(fields(tty.steps[to.indexOf(Op.ConsoleSetup)]), ['24', '80', '0']);
  // runc: masked or read-only paths need a private mount namespace.
  assert.throws(() => buildPlan(input((c) => (c.linux!.namespaces = [{ type: 'pid' }]))), /unable to restrict sys entries without a private MNT namespace/);
});

test('/dev bind from the host: no default devices', () => {
  const plan = buildPlan(input((c) => c.mounts!.push({ destination: '/dev', source: '/dev', options: ['rbind'] })));
  assert.not.ok(plan.steps.some((s) => s.op === Op.Mknod));
});

test('default rootfs propagation is rslave, as runc (host mounts made later still reach the container)', () => {
  const steps = buildPlan(input((c) => delete c.linux!.rootfsPropagation)).steps;
  const props = steps.filter((s) => s.op === Op.RootPropagation).map((s) => Number(fields(s)[0]));
  assert.equal(props, [MS.SLAVE | MS.REC]);
  const priv = buildPlan(input((c) => (c.linux!.rootfsPropagation = 'rprivate'))).steps;
  assert.equal(priv.filter((s) => s.op === Op.RootPropagation).map((s) => Number(fields(s)[0])), [MS.PRIVATE | MS.REC]);
});

test('shared rootfs propagation is applied after the pivot', () => {
  const steps = buildPlan(input((c) => (c.linux!.rootfsPropagation = 'rshared'))).steps;
  const props = steps.filter((s) => s.op === Op.RootPropagation).map((s) => Number(fields(s)[0]));
  assert.equal(props, [MS.SLAVE | MS.REC, MS.SHARED | MS.REC]);
});

test('unbindable rootfs propagation: the rootfs is bound first, "/" made unbindable after the pivot', () => {
  const steps = buildPlan(input((c) => (c.linux!.rootfsPropagation = 'unbindable'))).steps;
  const o = ops(steps);
  const props = steps.filter((s) => s.op === Op.RootPropagation).map((s) => Number(fields(s)[0]));
  assert.equal(props, [MS.SLAVE | MS.REC, MS.UNBINDABLE]);
  assert.ok(o.indexOf(Op.BindRootfs) < o.indexOf(Op.PivotRoot));
  assert.ok(o.indexOf(Op.PivotRoot) < o.lastIndexOf(Op.RootPropagation));
});

test('read-only tmpfs and /dev mounts are made writable and remounted read-only after the console (runc finalizeRootfs)', () => {
  const plan = buildPlan({
    ...input((c) => {
      c.mounts!.find((m) => m.destination === '/dev')!.options!.push('ro');
      c.mounts!.push({ destination: '/ro', type: 'tmpfs', source: 'tmpfs', options: ['ro', 'nosuid'] });
      c.mounts!.push({ destination: '/ro/sub', type: 'tmpfs', source: 'tmpfs' });
      c.mounts!.push({ destination: '/rw', type: 'tmpfs', source: 'tmpfs', options: ['ro', 'rw'] });
      c.mounts!.push({ destination: '/bound', type: 'bind', source: '/srv', options: ['rbind', 'ro'] });
    }),
    console: { fd: 5, rows: 0, cols: 0 },
  });
  const o = ops(plan.steps);
  const mountOf = (dest: string) => plan.steps.find((s) => s.op === Op.Mount && fields(s)[1] === dest)!;
  for (const d of ['/dev', '/ro', '/rw']) assert.is(Number(fields(mountOf(d))[3]) & MS.RDONLY, 0, `${d} mounted writable`);
  assert.ok(Number(fields(mountOf('/bound'))[3]) & MS.RDONLY, 'a read-only bind keeps its flag');
  const later = plan.steps.filter((s) => s.op === Op.RootReadonly && s.fields.length > 0).map((s) => fields(s)[0]);
  assert.equal(later, ['/dev', '/ro']);
  const first = o.findIndex((op, i) => op === Op.RootReadonly && plan.steps[i].fields.length > 0);
  assert.ok(o.indexOf(Op.Mknod) < first && o.indexOf(Op.Symlink) < first);
  assert.ok(o.indexOf(Op.ConsoleSetup) < first, 'after /dev/console is made');
  assert.ok(first < o.indexOf(Op.ReadonlyPath) && first < o.indexOf(Op.Identity));
  // The root's own read-only remount keeps its field-less form.
  assert.equal(plan.steps.filter((s) => s.op === Op.RootReadonly && s.fields.length === 0).length, 1);
});

test('a foreground terminal clears ONLCR (4th field); a console socket leaves the pty as is', () => {
  const setup = (foreground?: boolean) =>
    buildPlan({ ...input(), console: { fd: 5, rows: 2, cols: 3, foreground } }).steps.find((s) => s.op === Op.ConsoleSetup)!;
  assert.equal(fields(setup(true)), ['2', '3', '1', '1']);
  assert.equal(fields(setup(false)), ['2', '3', '1']);
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
