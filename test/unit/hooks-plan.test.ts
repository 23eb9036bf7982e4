/** Plan steps for hooks, r* mount options, idmap mounts; user namespace map setup. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { buildPlan, type PlanInput } from '../../src/plan/build';
import { MOUNT_ATTR, parseMountOptions } from '../../src/plan/mount-options';
import { Op } from '../../src/plan/ops';
import type { Spec } from '../../src/config/types';
import { planInput } from '../helpers/plan-input';
import { stateJson } from '../../src/hooks/run';
import { usernsSetup } from '../../src/userns/maps';

function input(edit?: (c: Spec) => void, extra: Partial<PlanInput> = {}): PlanInput {
  return planInput({ edit, extra: { id: 'c1', ...extra } });
}

const ops = (i: PlanInput) => buildPlan(i).steps.map((s) => s.op);
const h = (n: string) => ({ path: `/hooks/${n}`, args: [n, 'a'], env: ['K=V'], timeout: 3 });

test('no hooks: no hook ops, no status fifo', () => {
  const o = ops(input());
  for (const op of [Op.RuntimeHooks, Op.Hook, Op.OpenStatusFifo]) assert.not.ok(o.includes(op));
});

test('hook ops sit where the spec says: runtime pause and createContainer before pivot, startContainer after ready', () => {
  const i = input((c) => {
    c.hooks = { createRuntime: [h('cr')], createContainer: [h('cc')], startContainer: [h('sc')], poststart: [h('ps')] };
  }, { statusFifoPath: '/run/tsrun/c1/status.fifo' });
  const steps = buildPlan(i).steps;
  const o = steps.map((s) => s.op);
  const at = (op: Op) => o.indexOf(op);
  assert.ok(at(Op.OpenStatusFifo) >= 0 && at(Op.OpenStatusFifo) < at(Op.PivotRoot));
  assert.ok(at(Op.RuntimeHooks) > o.lastIndexOf(Op.Mount) && at(Op.RuntimeHooks) < at(Op.PivotRoot));
  const hooks = steps.filter((s) => s.op === Op.Hook);
  assert.is(hooks.length, 2);
  assert.ok(o.indexOf(Op.Hook) > at(Op.RuntimeHooks) && o.indexOf(Op.Hook) < at(Op.PivotRoot));
  assert.ok(o.lastIndexOf(Op.Hook) > at(Op.Ready) && o.lastIndexOf(Op.Hook) < at(Op.Exec));
  const [stage, path, timeout, prefix, suffix, argc, ...rest] = hooks[0].fields.map(String);
  assert.equal([stage, path, timeout, argc], ['createContainer', '/hooks/cc', '3', '2']);
  assert.equal(rest, ['cc', 'a', 'K=V']);
  const state = JSON.parse(`${prefix}42${suffix}`);
  assert.equal(state, { ociVersion: '1.3.0', id: 'c1', status: 'creating', pid: 42, bundle: '/bundle', annotations: {} });
  assert.is(JSON.parse(`${hooks[1].fields[3]}1${hooks[1].fields[4]}`).status, 'created');
});

test('prestart alone also pauses for the runtime hooks', () => {
  assert.ok(ops(input((c) => (c.hooks = { prestart: [h('p')] }))).includes(Op.RuntimeHooks));
});

test('stateJson: spec key order, pid optional', () => {
  assert.is(stateJson({ ociVersion: '1.3.0', id: 'a', status: 'stopped', bundle: '/b' }), '{"ociVersion":"1.3.0","id":"a","status":"stopped","bundle":"/b","annotations":{}}');
});

test('recursive options become mount_setattr bits; last atime wins; clearing forms clear', () => {
  const p = parseMountOptions(['rbind', 'rro', 'rnosuid', 'rnoatime', 'rstrictatime', 'rexec'], 'm');
  assert.is(p.attrSet, MOUNT_ATTR.RDONLY | MOUNT_ATTR.NOSUID | MOUNT_ATTR.STRICTATIME);
  assert.is(p.attrClr, MOUNT_ATTR._ATIME | MOUNT_ATTR.NOEXEC);
  const q = parseMountOptions(['rro', 'rrw'], 'm');
  assert.is(q.attrSet, 0);
  assert.is(q.attrClr, MOUNT_ATTR.RDONLY);
});

test('an r* option adds OP_MOUNT_SETATTR (recursive) after the mount', () => {
  const steps = buildPlan(input((c) => c.mounts!.push({ destination: '/data', type: 'bind', source: '/src', options: ['rbind', 'rro'] }))).steps;
  const i = steps.findIndex((s) => s.op === Op.MountSetattr);
  assert.ok(i > 0);
  assert.is(steps[i - 1].op, Op.Mount);
  assert.equal(steps[i].fields, ['/data', String(MOUNT_ATTR.RDONLY), '0', '0', '1']);
});

test('idmap: the mount\'s mappings, bind only, a parent-made tree fd with a user namespace (own mappings: a temporary one), error without mappings', () => {
  const steps = buildPlan(
    input((c) =>
      c.mounts!.push({
        destination: '/i', type: 'bind', source: '/src', options: ['rbind', 'ridmap', 'ro'],
        uidMappings: [{ containerID: 0, hostID: 1000, size: 10 }], gidMappings: [{ containerID: 0, hostID: 2000, size: 10 }],
      }),
    ),
  ).steps;
  const s = steps.find((x) => x.op === Op.MountIdmap)!;
  assert.equal(s.fields, ['/src', '/i', 'dir', '1', '1', '0 1000 10\n', '0 2000 10\n', String(MOUNT_ATTR.RDONLY), '0']);
  assert.throws(() => buildPlan(input((c) => c.mounts!.push({ destination: '/i', type: 'bind', source: '/s', options: ['bind', 'idmap'] }))), /needs uidMappings/);
  assert.throws(() => buildPlan(input((c) => c.mounts!.push({ destination: '/i', type: 'tmpfs', source: 'tmpfs', options: ['idmap'] }))), /only supported on bind/);
  const userns = (edit?: (c: any) => void) =>
    buildPlan(
      input((c) => {
        c.linux!.namespaces!.push({ type: 'user' });
        c.linux!.uidMappings = [{ containerID: 0, hostID: 1000, size: 1 }];
        c.linux!.gidMappings = [{ containerID: 0, hostID: 1000, size: 1 }];
        c.mounts!.push({ destination: '/i', type: 'bind', source: '/s', options: ['rbind', 'ridmap', 'ro'] });
        edit?.(c);
      }),
    ).steps;
  // With a user namespace: the parent prepares the tree (OP_MOUNT_TREE_FD), flags follow as OP_MOUNT_SETATTR.
  const u = userns();
  assert.not.ok(u.some((x) => x.op === Op.MountIdmap));
  const i = u.findIndex((x) => x.op === Op.MountTreeFd);
  assert.equal(u[i].fields, ['/i', 'dir', '/s', '1', '1', '', '', '']);
  assert.equal(u[i + 1].op, Op.MountSetattr);
  assert.equal(u[i + 1].fields, ['/i', String(MOUNT_ATTR.RDONLY), '0', '0', '1']);
  const same = userns((c) => Object.assign(c.mounts.at(-1), { uidMappings: c.linux.uidMappings, gidMappings: c.linux.gidMappings }));
  assert.equal(same.find((x) => x.op === Op.MountTreeFd)!.fields, ['/i', 'dir', '/s', '1', '1', '', '', '']);
  // The mount's own mappings: both maps go to the parent, which makes a temporary user namespace with them.
  const own = userns((c) => Object.assign(c.mounts.at(-1), { uidMappings: [{ containerID: 0, hostID: 5, size: 1 }], gidMappings: c.linux.gidMappings }));
  assert.equal(own.find((x) => x.op === Op.MountTreeFd)!.fields, ['/i', 'dir', '/s', '1', '1', '', '0 5 1\n', '0 1000 1\n']);
});

test('usernsSetup: root writes maps; unprivileged single self map denies setgroups; ranges need newuidmap', () => {
  const one = [{ containerID: 0, hostID: 1000, size: 1 }];
  const range = [...one, { containerID: 1, hostID: 100000, size: 65536 }];
  assert.equal(usernsSetup(range, range, { euid: 0, egid: 0 }), { uidMap: '0 1000 1\n1 100000 65536\n', gidMap: '0 1000 1\n1 100000 65536\n', setgroupsDeny: false });
  const self = usernsSetup(one, one, { euid: 1000, egid: 1000 }, () => undefined);
  assert.is(self.setgroupsDeny, true);
  assert.is(self.uidMapHelper, undefined);
  const helped = usernsSetup(range, range, { euid: 1000, egid: 1000 }, (c) => c[0]);
  assert.is(helped.uidMapHelper, '/usr/bin/newuidmap');
  assert.is(helped.gidMapHelper, '/usr/bin/newgidmap');
  assert.is(helped.setgroupsDeny, false);
  assert.throws(() => usernsSetup(range, one, { euid: 1000, egid: 1000 }, () => undefined), /newuidmap/);
});

test.run();
