/**
 * Host limits handled as the spec and the reference runtimes say (issue 12):
 * ungrantable capabilities, mountLabel without SELinux, exec --cgroup
 * parsing and sub-cgroup checks, the seccomp -ENOSYS stub decision.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { adaptToHost } from '../../src/config/host-adapt';
import type { Spec } from '../../src/config/types';
import { TsrunError } from '../../src/errors';
import { cgroupTargets, checkSubCgroups, parseSubCgroups } from '../../src/lifecycle/exec';
import { dropUngrantable, grantableMask } from '../../src/plan/capabilities';
import { normalizeProfile } from '../../src/seccomp/profile';
import { defaultSpec } from '../../src/spec/default';

const STATUS = 'Name:\tx\nCapInh:\t0000000000000000\nCapBnd:\t000001fffeffffff\nCapAmb:\t0000000000000000\n';

test('grantableMask: the bounding set without a user namespace, everything the kernel knows in one', () => {
  assert.is(grantableMask(false, STATUS, 40), 0x1fffeffffffn); // no CAP_SYS_RESOURCE (24)
  assert.is(grantableMask(true, STATUS, 40), (1n << 41n) - 1n);
  assert.is(grantableMask(false, STATUS, 37), (1n << 38n) - 1n & 0x1fffeffffffn, 'above cap_last_cap is never grantable');
});

test('dropUngrantable: warns per name and set, keeps the rest in order', () => {
  const caps = { bounding: ['CAP_CHOWN', 'CAP_SYS_RESOURCE', 'CAP_BOGUS'], effective: ['CAP_SYS_RESOURCE'], ambient: ['CAP_KILL'] };
  const w = dropUngrantable(caps, grantableMask(false, STATUS, 40), 'process.capabilities');
  assert.equal(caps, { bounding: ['CAP_CHOWN'], effective: [], ambient: ['CAP_KILL'] });
  assert.equal(w, [
    'process.capabilities.bounding: CAP_SYS_RESOURCE cannot be granted on this host (not in the runtime\'s bounding set or unknown to the kernel), dropped',
    'process.capabilities.bounding: unknown capability "CAP_BOGUS", ignored',
    'process.capabilities.effective: CAP_SYS_RESOURCE cannot be granted on this host (not in the runtime\'s bounding set or unknown to the kernel), dropped',
  ]);
  const quiet = { bounding: ['CAP_BOGUS'] };
  assert.equal(dropUngrantable(quiet, 0n, 'p', false), []);
  assert.equal(quiet.bounding, []);
});

function spec(edit: (c: Spec) => void): Spec {
  const c = defaultSpec({ args: ['sh'], terminal: false }) as unknown as Spec;
  edit(c);
  return c;
}

test('adaptToHost: mountLabel dropped without SELinux, kept with it; caps by user namespace', () => {
  const noSel = spec((c) => (c.linux!.mountLabel = 'system_u:object_r:x:s0'));
  const w = adaptToHost(noSel, { selinux: false, grantable: () => ~0n });
  assert.equal(w, ['linux.mountLabel: SELinux is not enabled on this host, label "system_u:object_r:x:s0" ignored']);
  assert.is(noSel.linux!.mountLabel, undefined);
  const sel = spec((c) => (c.linux!.mountLabel = 'l'));
  assert.equal(adaptToHost(sel, { selinux: true, grantable: () => ~0n }), []);
  assert.is(sel.linux!.mountLabel, 'l');

  const seen: boolean[] = [];
  const c = spec((s) => s.process!.capabilities!.bounding!.push('CAP_SYS_RESOURCE'));
  adaptToHost(c, { selinux: false, grantable: (u) => (seen.push(u), ~(1n << 24n)) });
  assert.not.ok(c.process!.capabilities!.bounding!.includes('CAP_SYS_RESOURCE'));
  const u = spec((s) => s.linux!.namespaces!.push({ type: 'user' }));
  adaptToHost(u, { selinux: false, grantable: (x) => (seen.push(x), ~0n) });
  assert.equal(seen, [false, true]);
});

function throwsTsrun(fn: () => unknown, re: RegExp): void {
  try {
    fn();
  } catch (e) {
    assert.instance(e, TsrunError);
    assert.match((e as Error).message, re);
    return;
  }
  assert.unreachable(`expected ${re}`);
}

test('parseSubCgroups: runc\'s forms and errors', () => {
  assert.equal([...parseSubCgroups(['a/b'])], [['', 'a/b']]);
  assert.equal([...parseSubCgroups(['cpu,cpuacct:x', 'memory:y'])], [['cpu', 'x'], ['cpuacct', 'x'], ['memory', 'y']]);
  throwsTsrun(() => parseSubCgroups([':x']), /^invalid --cgroup argument: :x \(empty <controller> prefix\)$/);
  throwsTsrun(() => parseSubCgroups(['cpu,:x']), /empty <controller> prefix/);
  throwsTsrun(() => parseSubCgroups(['a', 'b']), /^invalid --cgroup argument\(s\): multiple paths specified$/);
  throwsTsrun(() => parseSubCgroups(['cpu:a', 'cpu,memory:b']), /^invalid --cgroup argument\(s\): controller cpu specified multiple times$/);
});

test('cgroupTargets: sub-cgroups of the container\'s only; controllers it has', () => {
  const paths = { '': '/sys/fs/cgroup/unified/c', memory: '/sys/fs/cgroup/memory/c', 'cpu,cpuacct': '/sys/fs/cgroup/cpu,cpuacct/c' };
  assert.equal(cgroupTargets(paths, []), paths);
  assert.equal(cgroupTargets(paths, ['/']), paths);
  assert.equal(cgroupTargets(paths, ['s/t']), {
    '': '/sys/fs/cgroup/unified/c/s/t', memory: '/sys/fs/cgroup/memory/c/s/t', 'cpu,cpuacct': '/sys/fs/cgroup/cpu,cpuacct/c/s/t',
  });
  // A controller's own path wins over the plain one; a joined v1 hierarchy answers to each of its names.
  assert.equal(cgroupTargets(paths, ['s', 'cpuacct:u']), {
    '': '/sys/fs/cgroup/unified/c/s', memory: '/sys/fs/cgroup/memory/c/s', 'cpu,cpuacct': '/sys/fs/cgroup/cpu,cpuacct/c/u',
  });
  throwsTsrun(() => cgroupTargets(paths, ['..']), /^\.\. is not a sub cgroup path$/);
  throwsTsrun(() => cgroupTargets(paths, ['a/../../x']), /is not a sub cgroup path/);
  // runc's prefix test would take "../c-other" (…/c-other starts with …/c): not a sub-cgroup either.
  throwsTsrun(() => cgroupTargets(paths, ['../c-other']), /is not a sub cgroup path/);
  throwsTsrun(() => cgroupTargets(paths, ['whaaat:/']), /^unknown controller whaaat/);
  throwsTsrun(() => cgroupTargets({}, ['x']), /the container has no cgroup/);
  assert.equal(cgroupTargets(undefined, []), {});
});

test('checkSubCgroups: a missing --cgroup sub-cgroup is refused in runc\'s words before anything is spawned', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsrun-subcg-'));
  try {
    fs.mkdirSync(path.join(dir, 'mem/c/there'), { recursive: true });
    const own = { memory: path.join(dir, 'mem/c'), '': path.join(dir, 'gone/c') };
    checkSubCgroups(own, cgroupTargets(own, ['memory:there']));
    throwsTsrun(() => checkSubCgroups(own, cgroupTargets(own, ['nonexistent'])), /^error adding pid to cgroups: open .*\/nonexistent\/cgroup\.procs: no such file or directory$/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('seccomp: the -ENOSYS stub for deny-by-default profiles only; every named syscall bounds it', () => {
  const p = (defaultAction: string, extra: Record<string, unknown> = {}) =>
    normalizeProfile({ defaultAction, syscalls: [{ names: ['read', 'futex_waitv'], action: 'SCMP_ACT_ALLOW' }, { names: ['mount'], action: defaultAction }], ...extra } as never);
  const deny = p('SCMP_ACT_ERRNO');
  assert.ok(deny.enosysStub);
  assert.equal(deny.names.sort(), ['futex_waitv', 'mount', 'read'], 'a rule equal to the default still bounds the stub');
  assert.ok(p('SCMP_ACT_KILL_PROCESS').enosysStub);
  for (const a of ['SCMP_ACT_ALLOW', 'SCMP_ACT_LOG', 'SCMP_ACT_TRACE']) assert.not.ok(p(a).enosysStub, a);
  assert.not.ok(p('SCMP_ACT_ERRNO', { defaultErrnoRet: 38 }).enosysStub, 'already ENOSYS');
});

test.run();
