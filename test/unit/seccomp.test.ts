/**
 * linux.seccomp without root: profile validation and rule shaping
 * (src/seccomp/profile.ts), plan placement (src/seccomp/plan.ts +
 * src/plan/build.ts), the agent's state JSON, and compiling real profiles
 * with libseccomp (dlopen; no privilege needed) including Docker's default.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { buildPlan, type PlanInput } from '../../src/plan/build';
import { parseMountinfoCgroups, parseProcCgroup } from '../../src/plan/host-cgroups';
import { Op, type PlanStep } from '../../src/plan/ops';
import { decodePlan, encodePlan } from '../../src/plan/wire';
import { defaultSpec } from '../../src/spec/default';
import type { Seccomp, Spec } from '../../src/config/types';
import { TsrunError } from '../../src/errors';
import {
  ACTIONS,
  bindSeccompState,
  compileSeccomp,
  containerProcessState,
  normalizeProfile,
  seccompFeatures,
  seccompPlanSteps,
  type CompiledSeccomp,
} from '../../src/seccomp';

const FIXTURE = path.join(__dirname, '../../../test/fixtures/seccomp/docker-default.json');
const docker = (): Seccomp => JSON.parse(fs.readFileSync(FIXTURE, 'utf8'));

function rejects(profile: unknown, re: RegExp): void {
  try {
    normalizeProfile(profile as Seccomp);
  } catch (e) {
    assert.instance(e, TsrunError);
    assert.match((e as Error).message, re);
    return;
  }
  assert.unreachable(`accepted ${JSON.stringify(profile)}`);
}

test('actions: KILL is KILL_THREAD, ERRNO/TRACE carry errnoRet (default EPERM)', () => {
  const p = normalizeProfile({
    defaultAction: 'SCMP_ACT_ERRNO',
    defaultErrnoRet: 38,
    syscalls: [
      { names: ['a'], action: 'SCMP_ACT_KILL' },
      { names: ['b'], action: 'SCMP_ACT_ERRNO' },
      { names: ['c'], action: 'SCMP_ACT_ERRNO', errnoRet: 13 },
      { names: ['d'], action: 'SCMP_ACT_TRACE', errnoRet: 7 },
      { names: ['e'], action: 'SCMP_ACT_TRACE' },
      { names: ['f'], action: 'SCMP_ACT_KILL_PROCESS' },
      { names: ['g'], action: 'SCMP_ACT_LOG' },
      { names: ['h'], action: 'SCMP_ACT_TRAP' },
    ],
  });
  assert.is(p.defaultAction, 0x50000 | 38);
  assert.equal(
    p.rules.map((r) => [r.name, r.action >>> 0]),
    [['a', 0], ['b', 0x50001], ['c', 0x5000d], ['d', 0x7ff00007], ['e', 0x7ff00001], ['f', 0x80000000], ['g', 0x7ffc0000], ['h', 0x30000]],
  );
  assert.is(ACTIONS.SCMP_ACT_KILL, ACTIONS.SCMP_ACT_KILL_THREAD);
});

test('a rule with the default action is dropped (runc); names fan out to rules', () => {
  const p = normalizeProfile({
    defaultAction: 'SCMP_ACT_ERRNO',
    syscalls: [
      { names: ['x', 'y'], action: 'SCMP_ACT_ERRNO' },
      { names: ['read', 'write'], action: 'SCMP_ACT_ALLOW' },
    ],
  });
  assert.equal(p.rules.map((r) => r.name), ['read', 'write']);
  assert.ok(p.notes.some((n) => /same action as the default/.test(n)));
});

test('args: ANDed in one rule; repeated index → one rule per condition (runc)', () => {
  const and = normalizeProfile({
    defaultAction: 'SCMP_ACT_ALLOW',
    syscalls: [{ names: ['kill'], action: 'SCMP_ACT_ERRNO', args: [{ index: 0, value: 1, op: 'SCMP_CMP_NE' }, { index: 1, value: 9, op: 'SCMP_CMP_GT' }] }],
  });
  assert.is(and.rules.length, 1);
  assert.equal(and.rules[0].args, [
    { index: 0, op: 1, value: 1n, valueTwo: 0n },
    { index: 1, op: 6, value: 9n, valueTwo: 0n },
  ]);
  const or = normalizeProfile({
    defaultAction: 'SCMP_ACT_ALLOW',
    syscalls: [
      { names: ['personality'], action: 'SCMP_ACT_ERRNO', args: [{ index: 0, value: 8, op: 'SCMP_CMP_EQ' }, { index: 0, value: 0xffffffff, valueTwo: 3, op: 'SCMP_CMP_MASKED_EQ' }] },
    ],
  });
  assert.equal(or.rules.map((r) => r.args.length), [1, 1]);
  assert.is(or.rules[1].args[0].value, 0xffffffffn);
  assert.is(or.rules[1].args[0].valueTwo, 3n);
});

test('semantic errors name the field', () => {
  rejects({ defaultAction: 'SCMP_ACT_NOPE' }, /linux\.seccomp\.defaultAction: unknown action "SCMP_ACT_NOPE"/);
  rejects({ defaultAction: 'SCMP_ACT_NOTIFY', listenerPath: '/x' }, /cannot be the default action/);
  rejects({ defaultAction: 'SCMP_ACT_ALLOW', architectures: ['SCMP_ARCH_VAX'] }, /architectures\[0\]: unknown architecture/);
  rejects({ defaultAction: 'SCMP_ACT_ALLOW', flags: ['SECCOMP_FILTER_FLAG_NEW_LISTENER'] }, /flags\[0\]: unknown flag/);
  rejects({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['a'], action: 'X' }] }, /syscalls\[0\]\.action: unknown action/);
  rejects({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: [], action: 'SCMP_ACT_ERRNO' }] }, /syscalls\[0\]\.names/);
  rejects({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['a'], action: 'SCMP_ACT_ERRNO', args: [{ index: 6, value: 0, op: 'SCMP_CMP_EQ' }] }] }, /args\[0\]\.index: 6 is not in 0\.\.5/);
  rejects({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['a'], action: 'SCMP_ACT_ERRNO', args: [{ index: 0, value: 0, op: 'SCMP_CMP_ALMOST' }] }] }, /args\[0\]\.op: unknown operator/);
  rejects({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['a'], action: 'SCMP_ACT_ERRNO', args: [{ index: 0, value: -1, op: 'SCMP_CMP_EQ' }] }] }, /value -1 is not an unsigned 64-bit integer/);
  rejects({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['a'], action: 'SCMP_ACT_ERRNO', errnoRet: 70000 }] }, /errnoRet 70000/);
  rejects({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_NOTIFY' }] }, /listenerPath: is required/);
  rejects({ defaultAction: 'SCMP_ACT_ALLOW', listenerPath: 'rel/sock', syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_NOTIFY' }] }, /not an absolute path/);
  rejects({ defaultAction: 'SCMP_ACT_ALLOW', listenerPath: '/s', syscalls: [{ names: ['write'], action: 'SCMP_ACT_NOTIFY' }] }, /SCMP_ACT_NOTIFY cannot be used for the write syscall/);
});

function planInput(c: Spec, seccomp?: ReturnType<typeof seccompPlanSteps>): PlanInput {
  return {
    config: c,
    rootfs: '/bundle/rootfs',
    bundle: '/bundle',
    fifoPath: '/run/tsrun/c1/exec.fifo',
    noPivot: false,
    preserveFds: 0,
    cgroups: { mounts: parseMountinfoCgroups('41 31 0:38 / /sys/fs/cgroup rw,relatime - cgroup2 cgroup2 rw'), self: parseProcCgroup('0::/x\n') },
    isDirectory: () => true,
    seccomp,
  };
}

const fakeCompiled = (notify: boolean): CompiledSeccomp => ({
  program: Buffer.alloc(16, 1),
  flags: 4,
  instructions: 2,
  skipped: [],
  stubInstructions: 0,
  notify,
  listenerPath: notify ? '/run/agent.sock' : undefined,
  listenerMetadata: 'm',
  notes: [],
  compileMs: 0,
});

const ops = (steps: PlanStep[]) => steps.map((s) => s.op);

test('plan: without no_new_privs the filter loads "now", right before the identity', () => {
  const c = defaultSpec({ args: ['true'], terminal: false }) as unknown as Spec;
  c.process!.noNewPrivileges = false;
  const steps = seccompPlanSteps(fakeCompiled(false), false);
  const o = ops(buildPlan(planInput(c, steps)).steps);
  assert.is(o.indexOf(Op.Seccomp) + 1, o.indexOf(Op.Identity));
  assert.not.ok(o.includes(Op.SeccompListener));
  assert.equal(steps.load.fields.slice(2).map(String), ['now', '']);
});

test('plan: with no_new_privs and startContainer hooks, the deferred load is registered before the hooks (runc runs them under the filter)', () => {
  const c = defaultSpec({ args: ['true'], terminal: false }) as unknown as Spec;
  c.process!.noNewPrivileges = true;
  c.hooks = { startContainer: [{ path: '/bin/true' }] };
  const o = ops(buildPlan(planInput(c, seccompPlanSteps(fakeCompiled(false), true))).steps);
  assert.ok(o.indexOf(Op.Ready) < o.indexOf(Op.Seccomp));
  assert.ok(o.indexOf(Op.Seccomp) < o.indexOf(Op.Hook), 'the filter comes before the startContainer hook');
  assert.is(o.indexOf(Op.Hook) + 1, o.indexOf(Op.Exec));
});

test('plan: with no_new_privs the load is deferred to execve; NOTIFY connects first', () => {
  const c = defaultSpec({ args: ['true'], terminal: false }) as unknown as Spec;
  c.process!.noNewPrivileges = true;
  const compiled = fakeCompiled(true);
  const steps = seccompPlanSteps(compiled, true);
  const plan = buildPlan(planInput(c, steps));
  const o = ops(plan.steps);
  assert.is(o[0], Op.SeccompListener);
  assert.is(o.indexOf(Op.Ready) + 1, o.indexOf(Op.Seccomp));
  assert.is(o.indexOf(Op.Seccomp) + 1, o.indexOf(Op.Exec));
  bindSeccompState(steps, compiled, { ociVersion: '1.3.0', id: 'c1', status: 'creating', pid: 42, bundle: '/bundle' });
  const decoded = decodePlan(encodePlan(plan.steps));
  const load = decoded.find((s) => s.op === Op.Seccomp)!;
  assert.is(String(load.fields[0]), '4');
  assert.equal(Buffer.from(load.fields[1] as Buffer), Buffer.alloc(16, 1));
  assert.is(String(load.fields[2]), 'exec');
  const st = JSON.parse(String(load.fields[3]));
  assert.equal(st, {
    ociVersion: '1.3.0',
    fds: ['seccompFd'],
    pid: 42,
    metadata: 'm',
    state: { ociVersion: '1.3.0', id: 'c1', status: 'creating', pid: 42, bundle: '/bundle', annotations: {} },
  });
  assert.is(containerProcessState(compiled, { ociVersion: '1', id: 'x', status: 'creating', pid: 1, bundle: '/' }).includes('"seccompFd"'), true);
});

test('compile: Docker default profile with libseccomp (x86_64, x86, x32)', () => {
  const c = compileSeccomp(docker());
  assert.is(c.program.length % 8, 0);
  assert.is(c.instructions, c.program.length / 8);
  assert.ok(c.instructions > 100 && c.instructions <= 4096, `${c.instructions} instructions`);
  assert.is(c.flags, 0);
  assert.not.ok(c.notify);
});

test('compile: the -ENOSYS stub (runc\'s patchbpf) comes first, per architecture of the profile', () => {
  const c = compileSeccomp(docker());
  assert.ok(c.stubInstructions > 0 && c.stubInstructions < 40, `${c.stubInstructions} stub instructions`);
  const insn = (i: number) => ({ code: c.program.readUInt16LE(i * 8), jt: c.program[i * 8 + 2], jf: c.program[i * 8 + 3], k: c.program.readUInt32LE(i * 8 + 4) });
  assert.equal(insn(0), { code: 0x20, jt: 0, jf: 0, k: 4 }, 'ld [4]: the architecture');
  // One jeq per audit arch of the profile (x86_64 with x32 is one), then a jump over the stub.
  const archs = [1, 2].map((i) => insn(i)).filter((x) => x.code === 0x15).map((x) => x.k >>> 0).sort();
  assert.equal(archs, [0x40000003, 0xc000003e]);
  assert.equal(insn(c.stubInstructions - 1), { code: 0x06, jt: 0, jf: 0, k: 0x00050026 }, 'ret ERRNO(ENOSYS) ends the stub');
  // Every jump stays inside the stub or lands on the first instruction of libseccomp's filter.
  for (let i = 0; i < c.stubInstructions; i++) {
    const x = insn(i);
    if ((x.code & 0x07) !== 0x05) continue;
    const targets = x.code === 0x05 ? [i + 1 + x.k] : [i + 1 + x.jt, i + 1 + x.jf];
    for (const t of targets) assert.ok(t <= c.stubInstructions, `insn ${i} jumps to ${t}`);
  }
  // An allowing default needs none.
  assert.is(compileSeccomp({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_ERRNO' }] }).stubInstructions, 0);
});

test('compile: unknown syscall names are skipped and reported; flags map to bits', () => {
  const c = compileSeccomp({
    defaultAction: 'SCMP_ACT_ALLOW',
    flags: ['SECCOMP_FILTER_FLAG_LOG', 'SECCOMP_FILTER_FLAG_SPEC_ALLOW'],
    syscalls: [{ names: ['no_such_call_tsrun', 'mkdir'], action: 'SCMP_ACT_ERRNO' }],
  });
  assert.equal(c.skipped, ['no_such_call_tsrun']);
  assert.is(c.flags, 2 | 4);
  // A smaller program for a smaller profile.
  assert.ok(c.instructions < 40);
});

test('compile: TSYNC is dropped with NOTIFY (single-threaded helper), WAIT_KILLABLE_RECV without it', () => {
  const n = compileSeccomp({
    defaultAction: 'SCMP_ACT_ALLOW',
    listenerPath: '/run/a.sock',
    flags: ['SECCOMP_FILTER_FLAG_TSYNC'],
    syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_NOTIFY' }],
  });
  assert.is(n.flags, 0);
  assert.ok(n.notify);
  if (seccompFeatures().supportedFlags.includes('SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV')) {
    const w = compileSeccomp({ defaultAction: 'SCMP_ACT_ALLOW', flags: ['SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV'] });
    assert.is(w.flags, 0);
  }
});

test('compile: an architecture libseccomp does not know is a clear error', () => {
  const f = seccompFeatures();
  if (f.archs.includes('SCMP_ARCH_LOONGARCH64')) return; // a newer libseccomp knows it
  assert.throws(() => compileSeccomp({ defaultAction: 'SCMP_ACT_ALLOW', architectures: ['SCMP_ARCH_LOONGARCH64'] }), /architecture "loongarch64" is not supported by this libseccomp/);
});

test('features: actions, operators, archs and flags of this host', () => {
  const f = seccompFeatures();
  assert.ok(f.enabled);
  assert.ok(f.actions.includes('SCMP_ACT_ERRNO') && f.actions.includes('SCMP_ACT_ALLOW'));
  assert.is(f.operators.length, 7);
  assert.ok(f.archs.includes('SCMP_ARCH_X86_64') || f.archs.includes('SCMP_ARCH_AARCH64'));
  assert.equal(f.knownFlags, ['SECCOMP_FILTER_FLAG_TSYNC', 'SECCOMP_FILTER_FLAG_LOG', 'SECCOMP_FILTER_FLAG_SPEC_ALLOW', 'SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV']);
  assert.ok(f.supportedFlags.every((x) => f.knownFlags.includes(x)));
});

test.run();
