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
    initPid: 4242,
    preserveFds: 1,
    ...extra,
  });
}

test('joins the init\'s namespaces from /proc/<pid>/ns: pid around the clone, the rest by setns, mnt last', () => {
  const p = plan();
  assert.is(p.joinPidNs, '/proc/4242/ns/pid');
  const joins = p.steps.filter((s) => s.op === Op.Setns).map(fields);
  assert.equal(joins, [
    ['/proc/4242/ns/ipc', 'ipc'],
    ['/proc/4242/ns/uts', 'uts'],
    ['/proc/4242/ns/net', 'net'],
    ['/proc/4242/ns/mnt', 'mnt'],
  ]);
});

test('the v1 cgroups are joined before any setns, after the initial CPU affinity', () => {
  const tasks = ['/sys/fs/cgroup/pids/c/tasks', '/sys/fs/cgroup/memory/c/tasks'];
  const ops = plan({ joinCgroups: tasks }).steps.map((s) => s.op);
  assert.equal(ops.slice(0, 2), [Op.JoinCgroup, Op.JoinCgroup]);
  assert.ok(ops.lastIndexOf(Op.JoinCgroup) < ops.indexOf(Op.Setns));
  const withAffinity = buildExecPlan({
    config,
    proc: { ...config.process!, args: ['sh'], execCPUAffinity: { initial: '0' } },
    initPid: 4242,
    preserveFds: 0,
    joinCgroups: tasks,
  }).steps.map((s) => s.op);
  assert.equal(withAffinity.slice(0, 3), [Op.CpuAffinity, Op.JoinCgroup, Op.JoinCgroup]);
  assert.not.ok(plan().steps.some((s) => s.op === Op.JoinCgroup));
});

test('no fifo and no READY: limits, chdir, identity, then exec of the process', () => {
  const ops = plan().steps.map((s) => s.op);
  assert.not.ok(ops.includes(Op.Ready) || ops.includes(Op.OpenFifo) || ops.includes(Op.Mount));
  assert.equal(ops.slice(-6), [Op.Rlimit, Op.Chdir, Op.Home, Op.Identity, Op.LookPath, Op.Exec]);
  const steps = plan().steps;
  assert.equal(fields(steps[steps.length - 1]).slice(0, 5), ['', '1', '2', 'ps', 'aux']);
  assert.equal(fields(steps.find((s) => s.op === Op.Identity)!).slice(0, 2), ['5', '6']);
});

test('a terminal: connect before the joins (host path), pty set up after them, without /dev/console', () => {
  const steps = plan({ console: { socket: '/run/x.sock', rows: 24, cols: 80 } }).steps;
  const ops = steps.map((s) => s.op);
  assert.ok(ops.indexOf(Op.ConsoleConnect) < ops.indexOf(Op.Setns));
  assert.ok(ops.indexOf(Op.ConsoleSetup) > ops.lastIndexOf(Op.Setns));
  assert.equal(fields(steps.find((s) => s.op === Op.ConsoleSetup)!), ['24', '80', '0']);
});

test('a container without a mount namespace: the process chroots into the init\'s root after the joins', () => {
  const noMnt = JSON.parse(JSON.stringify(config)) as Spec;
  noMnt.linux!.namespaces = noMnt.linux!.namespaces!.filter((n) => n.type !== 'mount');
  const steps = plan({ config: noMnt }).steps;
  const ops = steps.map((s) => s.op);
  assert.not.ok(steps.some((s) => s.op === Op.Setns && s.fields[1] === 'mnt'));
  assert.equal(fields(steps[ops.indexOf(Op.Chroot)]), ['/proc/4242/root']);
  assert.ok(ops.lastIndexOf(Op.Setns) < ops.indexOf(Op.Chroot) && ops.indexOf(Op.Chroot) < ops.indexOf(Op.Chdir));
  assert.not.ok(plan().steps.some((s) => s.op === Op.Chroot), 'with a mount namespace, setns is enough');
});

test('exec -t: a foreground terminal clears ONLCR, no /dev/console bind', () => {
  const setup = (foreground?: boolean) => plan({ console: { socket: '/tmp/c.sock', rows: 0, cols: 0, foreground } }).steps.find((s) => s.op === Op.ConsoleSetup)!;
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
    initPid: 4242,
    preserveFds: 0,
  }).steps;
  assert.not.ok(withHome.some((s) => s.op === Op.Home));
  assert.equal(fields(withHome.find((s) => s.op === Op.LookPath)!), ['./tool', '', 'eaccess']);
});

test.run();
