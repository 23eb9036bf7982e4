import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Spec } from '../../src/config/types';
import { buildExecPlan } from '../../src/plan/exec-plan';
import { Op, type PlanStep } from '../../src/plan/ops';
import { defaultSpec } from '../../src/spec/default';

const config = defaultSpec({ args: ['sh'], terminal: false }) as unknown as Spec;
const fields = (s: PlanStep) => s.fields.map(String);

function plan(extra: Partial<Parameters<typeof buildExecPlan>[0]> = {}) {
  return buildExecPlan({
    config,
    proc: { ...config.process!, args: ['ps', 'aux'], cwd: '/tmp', user: { uid: 5, gid: 6 } },
    join: { pidfd: 5 },
    preserveFds: 1,
    ...extra,
  });
}

test('joins every namespace of the init at once through its pidfd, then forks into its pid namespace', () => {
  const p = plan();
  const mask = 0x20000000 | 0x40000000 | 0x8000000 | 0x4000000 | 0x20000; // pid net ipc uts mnt
  assert.equal(p.bootstrap.map((s) => [s.op, ...fields(s)]), [[Op.SetnsPidfd, '5', String(mask)], [Op.Fork]]);
  assert.not.ok(p.steps.some((s) => s.op === Op.Setns || s.op === Op.SetnsPidfd || s.op === Op.Fork));
});

test('without pidfds: one setns per /proc/<pid>/ns file, user first, pid then mnt last, then the fork', () => {
  const p = plan({ join: { nsDir: '/proc/4242/ns' } });
  assert.equal(p.bootstrap.map((s) => [s.op, ...fields(s)]), [
    [Op.Setns, '/proc/4242/ns/ipc', 'ipc'],
    [Op.Setns, '/proc/4242/ns/uts', 'uts'],
    [Op.Setns, '/proc/4242/ns/net', 'net'],
    [Op.Setns, '/proc/4242/ns/pid', 'pid'],
    [Op.Setns, '/proc/4242/ns/mnt', 'mnt'],
    [Op.Fork],
  ]);
});

test('the v1 cgroups are joined before the namespaces, after the initial CPU affinity', () => {
  const tasks = ['/sys/fs/cgroup/pids/c/tasks', '/sys/fs/cgroup/memory/c/tasks'];
  const ops = plan({ joinCgroups: tasks }).bootstrap.map((s) => s.op);
  assert.equal(ops, [Op.JoinCgroup, Op.JoinCgroup, Op.SetnsPidfd, Op.Fork]);
  const withAffinity = buildExecPlan({
    config,
    proc: { ...config.process!, args: ['sh'], execCPUAffinity: { initial: '0' } },
    join: { pidfd: 4 },
    preserveFds: 0,
    joinCgroups: tasks,
  }).bootstrap.map((s) => s.op);
  assert.equal(withAffinity.slice(0, 3), [Op.CpuAffinity, Op.JoinCgroup, Op.JoinCgroup]);
  assert.not.ok(plan().bootstrap.some((s) => s.op === Op.JoinCgroup));
});

test('no fifo and no READY: limits, chdir, identity, then exec of the process', () => {
  const ops = plan().steps.map((s) => s.op);
  assert.not.ok(ops.includes(Op.Ready) || ops.includes(Op.OpenFifo) || ops.includes(Op.Mount));
  assert.equal(ops.slice(-6), [Op.Rlimit, Op.Chdir, Op.Home, Op.Identity, Op.LookPath, Op.Exec]);
  const steps = plan().steps;
  assert.equal(fields(steps[steps.length - 1]).slice(0, 5), ['', '1', '2', 'ps', 'aux']);
  assert.equal(fields(steps.find((s) => s.op === Op.Identity)!).slice(0, 2), ['5', '6']);
});

test('a terminal: the parent-connected socket is a passed fd, the pty is set up after the joins', () => {
  const p = plan({ console: { fd: 6, rows: 24, cols: 80 } });
  const ops = p.steps.map((s) => s.op);
  assert.not.ok(p.bootstrap.some((s) => s.op === Op.ConsoleConnect), 'no path lookup anywhere');
  assert.equal(fields(p.steps[ops.indexOf(Op.ConsoleConnect)]), ['6']);
  assert.ok(ops.indexOf(Op.ConsoleConnect) < ops.indexOf(Op.ConsoleSetup));
  assert.equal(fields(p.steps.find((s) => s.op === Op.ConsoleSetup)!), ['24', '80', '0']);
});

test('a container without a mount namespace: the process chroots into the init\'s root after the joins', () => {
  const noMnt = JSON.parse(JSON.stringify(config)) as Spec;
  noMnt.linux!.namespaces = noMnt.linux!.namespaces!.filter((n) => n.type !== 'mount');
  const p = plan({ config: noMnt, join: { nsDir: '/proc/4242/ns' }, chrootTo: '/proc/4242/root' });
  const steps = p.steps;
  const ops = steps.map((s) => s.op);
  assert.not.ok(p.bootstrap.some((s) => s.op === Op.Setns && s.fields[1] === 'mnt'));
  assert.equal(fields(steps[ops.indexOf(Op.Chroot)]), ['/proc/4242/root']);
  assert.ok(ops.indexOf(Op.Chroot) < ops.indexOf(Op.Chdir));
  assert.not.ok(plan({ chrootTo: '/proc/4242/root' }).steps.some((s) => s.op === Op.Chroot), 'with a mount namespace, setns is enough');
});

test('exec -t: a foreground terminal clears ONLCR, no /dev/console bind', () => {
  const setup = (foreground?: boolean) => plan({ console: { fd: 6, rows: 0, cols: 0, foreground } }).steps.find((s) => s.op === Op.ConsoleSetup)!;
  assert.equal(fields(setup(true)), ['0', '0', '0', '1']);
  assert.equal(fields(setup(undefined)), ['0', '0', '0']);
});

test('args[0] is looked up in the container as the process, with exec\'s "eaccess" wording; HOME only when env has none', () => {
  const steps = plan().steps;
  assert.equal(fields(steps.find((s) => s.op === Op.LookPath)!), ['ps', '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'eaccess']);
  assert.equal(fields(steps.find((s) => s.op === Op.Home)!), ['5']);
  const withHome = buildExecPlan({
    config,
    proc: { ...config.process!, args: ['./tool'], env: ['HOME=/h'], cwd: '/srv' },
    join: { pidfd: 5 },
    preserveFds: 0,
  }).steps;
  assert.not.ok(withHome.some((s) => s.op === Op.Home));
  assert.equal(fields(withHome.find((s) => s.op === Op.LookPath)!), ['./tool', '', 'eaccess']);
});

test.run();
