import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { buildPlan, CLONE, type PlanInput } from '../../src/plan/build';
import { Op, type PlanStep } from '../../src/plan/ops';
import { execAffinitySteps, formatIdList, parseIdList } from '../../src/plan/process-extras';
import { apparmorEnabled, checkHostExtras, resctrlMount, selinuxEnabled } from '../../src/lifecycle/host-extras';
import { defaultSpec } from '../../src/spec/default';
import type { Spec } from '../../src/config/types';
import { planInput } from '../helpers/plan-input';

function input(edit?: (c: Spec) => void): PlanInput {
  return planInput({ edit });
}
const find = (steps: PlanStep[], op: Op) => steps.filter((s) => s.op === op).map((s) => s.fields.map(String));
const index = (steps: PlanStep[], op: Op) => steps.findIndex((s) => s.op === op);

test('new time namespace: unshared by the helper with the offsets, not cloned', () => {
  const plan = buildPlan(input((c) => {
    c.linux!.namespaces!.push({ type: 'time' });
    c.linux!.timeOffsets = { monotonic: { secs: 5, nanosecs: 7 }, boottime: { secs: -3 } };
  }));
  assert.is(plan.cloneFlags & CLONE.NEWTIME, 0);
  assert.equal(find(plan.steps, Op.Timens), [['monotonic 5 7\nboottime -3 0']]);
  assert.ok(index(plan.steps, Op.Timens) < index(plan.steps, Op.BindRootfs), 'before the rootfs work');
});

test('new time namespace without offsets still gets its own namespace', () => {
  const plan = buildPlan(input((c) => c.linux!.namespaces!.push({ type: 'time' })));
  assert.equal(find(plan.steps, Op.Timens), [['']]);
});

test('timeOffsets with a joined time namespace are refused', () => {
  assert.throws(() => buildPlan(input((c) => {
    c.linux!.namespaces!.push({ type: 'time', path: '/proc/1/ns/time' });
    c.linux!.timeOffsets = { monotonic: { secs: 1 } };
  })), /timeOffsets/);
  assert.throws(() => buildPlan(input((c) => {
    c.linux!.namespaces!.push({ type: 'time' });
    c.linux!.timeOffsets = { realtime: { secs: 1 } };
  })), /unknown clock/);
});

test('personality, scheduler, ioPriority, memoryPolicy: encoded, before the identity', () => {
  const plan = buildPlan(input((c) => {
    c.linux!.personality = { domain: 'LINUX32' };
    c.process!.scheduler = { policy: 'SCHED_FIFO', priority: 10, flags: ['SCHED_FLAG_RESET_ON_FORK'] };
    c.process!.ioPriority = { class: 'IOPRIO_CLASS_RT', priority: 3 };
    c.linux!.memoryPolicy = { mode: 'MPOL_INTERLEAVE', nodes: '3,0-1', flags: ['MPOL_F_STATIC_NODES'] };
  }));
  assert.equal(find(plan.steps, Op.Personality), [['8']]);
  assert.equal(find(plan.steps, Op.Scheduler), [['1', '1', '0', '10', '0', '0', '0']]);
  assert.equal(find(plan.steps, Op.Ioprio), [[String((1 << 13) | 3)]]);
  assert.equal(find(plan.steps, Op.Mempolicy), [[String(3 | (1 << 15)), '0-1,3']]);
  const id = index(plan.steps, Op.Identity);
  for (const op of [Op.Personality, Op.Scheduler, Op.Ioprio, Op.Mempolicy]) {
    assert.ok(index(plan.steps, op) > index(plan.steps, Op.PivotRoot) && index(plan.steps, op) < id, `op ${op} placement`);
  }
});

test('invalid values fail with the field path', () => {
  const bad: [string, (c: Spec) => void][] = [
    ['process.scheduler.priority', (c) => (c.process!.scheduler = { policy: 'SCHED_RR' })],
    ['process.scheduler.priority', (c) => (c.process!.scheduler = { policy: 'SCHED_OTHER', priority: 3 })],
    ['process.scheduler.nice', (c) => (c.process!.scheduler = { policy: 'SCHED_OTHER', nice: 30 })],
    ['process.scheduler.runtime', (c) => (c.process!.scheduler = { policy: 'SCHED_DEADLINE' })],
    ['process.scheduler', (c) => (c.process!.scheduler = { policy: 'SCHED_OTHER', runtime: 5 })],
    ['process.ioPriority.priority', (c) => (c.process!.ioPriority = { class: 'IOPRIO_CLASS_BE', priority: 8 })],
    ['linux.memoryPolicy.nodes', (c) => (c.linux!.memoryPolicy = { mode: 'MPOL_BIND' })],
    ['linux.memoryPolicy.nodes', (c) => (c.linux!.memoryPolicy = { mode: 'MPOL_LOCAL', nodes: '0' })],
    ['linux.memoryPolicy.nodes', (c) => (c.linux!.memoryPolicy = { mode: 'MPOL_BIND', nodes: '3-1' })],
    ['linux.memoryPolicy.flags', (c) => (c.linux!.memoryPolicy = { mode: 'MPOL_BIND', nodes: '0', flags: ['MPOL_F_STATIC_NODES', 'MPOL_F_RELATIVE_NODES'] })],
    ['linux.personality.flags', (c) => (c.linux!.personality = { domain: 'LINUX', flags: ['ADDR_NO_RANDOMIZE'] })],
  ];
  for (const [where, edit] of bad) {
    try {
      buildPlan(input(edit));
      assert.unreachable(`no error for ${where}`);
    } catch (e) {
      assert.ok((e as Error).message.startsWith(where), `${(e as Error).message} starts with ${where}`);
    }
  }
});

test('LSM labels become exec-label steps; mountLabel adds context= to non-bind mounts', () => {
  const plan = buildPlan(input((c) => {
    c.process!.apparmorProfile = 'tsrun-test';
    c.process!.selinuxLabel = 'system_u:system_r:container_t:s0';
    c.linux!.mountLabel = 'system_u:object_r:container_file_t:s0';
  }));
  assert.equal(find(plan.steps, Op.LsmExecLabel), [['apparmor', 'tsrun-test'], ['selinux', 'system_u:system_r:container_t:s0']]);
  const tmpfs = find(plan.steps, Op.Mount).find((f) => f[1] === '/dev')!;
  assert.match(tmpfs[4], /context="system_u:object_r:container_file_t:s0"$/);
});

test('execCPUAffinity is not applied to the init (spec), but is available for exec', () => {
  const plan = buildPlan(input((c) => (c.process!.execCPUAffinity = { initial: '0', final: '0-1' })));
  assert.equal(find(plan.steps, Op.CpuAffinity), []);
  const a = execAffinitySteps({ execCPUAffinity: { initial: '1,0', final: '0-1' } } as never);
  assert.equal(a.initial?.fields, ['0-1']);
  assert.equal(a.final?.fields, ['0-1']);
  assert.throws(() => execAffinitySteps({ execCPUAffinity: { final: 'x' } } as never), /execCPUAffinity\.final/);
});

test('id lists', () => {
  assert.equal(parseIdList('0-3,7, 5', 'w'), [0, 1, 2, 3, 5, 7]);
  assert.equal(parseIdList('', 'w'), []);
  assert.is(formatIdList([0, 1, 2, 3, 5, 7, 8]), '0-3,5,7-8');
  assert.throws(() => parseIdList('1-', 'w'), /^w:/);
  assert.throws(() => parseIdList('9000', 'w'), /out of range/);
});

test('host checks: LSMs, resctrl and netDevices refuse what the host cannot do', () => {
  const spec = () => defaultSpec({ args: ['sh'] }) as unknown as Spec;
  if (!apparmorEnabled()) {
    const c = spec();
    c.process!.apparmorProfile = 'p';
    assert.throws(() => checkHostExtras(c), /process\.apparmorProfile: .*AppArmor is not enabled/);
  }
  if (!selinuxEnabled()) {
    const c = spec();
    c.process!.selinuxLabel = 'l';
    assert.throws(() => checkHostExtras(c), /process\.selinuxLabel: .*SELinux is not enabled/);
    const m = spec();
    m.linux!.mountLabel = 'l';
    assert.throws(() => checkHostExtras(m), /linux\.mountLabel/);
  }
  if (!resctrlMount()) {
    const c = spec();
    c.linux!.intelRdt = { closID: 'x' };
    assert.throws(() => checkHostExtras(c), /linux\.intelRdt: .*resctrl/);
  }
  const n = spec();
  n.linux!.namespaces = n.linux!.namespaces!.filter((x) => x.type !== 'network');
  n.linux!.netDevices = { eth9: {} };
  assert.throws(() => checkHostExtras(n), /linux\.netDevices: .*network namespace/);
  const bad = spec();
  bad.linux!.netDevices = { eth9: { name: 'a/b' } };
  assert.throws(() => checkHostExtras(bad), /linux\.netDevices\.eth9\.name/);
});

test('resctrl mount is found in mountinfo', () => {
  const fs = require('node:fs') as typeof import('node:fs');
  const os = require('node:os') as typeof import('node:os');
  const f = require('node:path').join(os.tmpdir(), `mi-${process.pid}`);
  fs.writeFileSync(f, '22 1 0:20 / /sys/fs/resctrl rw,relatime shared:5 - resctrl resctrl rw\n');
  try {
    assert.is(resctrlMount(f), '/sys/fs/resctrl');
  } finally {
    fs.unlinkSync(f);
  }
});

test.run();
