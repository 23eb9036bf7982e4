/**
 * tsrun explain's parts without root: the cgroup dry run (the same writers,
 * writes recorded, nothing made) against fake trees, and the rendering of
 * plan steps (field names, decoded flags and capability sets, placeholders).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { planCgroup, predictCgroupWrites, prepareCgroup, traceWrites } from '../../src/cgroups';
import { makeFakeHybrid, makeFakeV1, makeFakeV2 } from '../../src/cgroups/fake-tree';
import type { LinuxResources } from '../../src/config/types';
import { buildPlan } from '../../src/plan/build';
import { capNames, formatExplained, msNames, renderStep, stepLine, type Explained } from '../../src/plan/explain';
import { MS } from '../../src/plan/mount-options';
import { Op } from '../../src/plan/ops';
import { planInput } from '../helpers/plan-input';

const tmps: string[] = [];
function tmp(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'tsrun-explain-'));
  tmps.push(d);
  return d;
}
test.after(() => {
  for (const d of tmps) fs.rmSync(d, { recursive: true, force: true });
});

const RES: LinuxResources = {
  memory: { limit: 268435456, reservation: 134217728, swap: 536870912, swappiness: 30 },
  cpu: { shares: 512, quota: 50000, period: 100000, cpus: '0', mems: '0' },
  pids: { limit: 123 },
  devices: [{ allow: false, access: 'rwm' }, { allow: true, type: 'c', major: 10, minor: 229, access: 'rw' }],
};

/** Every directory and file under root, to prove a dry run changed nothing. */
function snapshot(root: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      out.push(e.isDirectory() ? `${p}/` : `${p}=${fs.readFileSync(p, 'utf8')}`);
      if (e.isDirectory()) walk(p);
    }
  };
  walk(root);
  return out.sort();
}

for (const [name, make, extra] of [
  ['v1', (r: string) => makeFakeV1(r), {}],
  ['v2', (r: string) => makeFakeV2(r), { unified: { 'memory.high': '200000000' } }],
  ['hybrid', (r: string) => makeFakeHybrid(r, ['memory', 'pids', 'cpu', 'cpuset', 'devices'], 'hugetlb'), { hugepageLimits: [{ pageSize: '2MB', limit: 2097152 }] }],
] as const) {
  test(`${name}: the dry run predicts exactly the writes create makes, and makes none`, () => {
    const root = tmp();
    make(root);
    const spec = { id: 'c1', cgroupsPath: '/a/c1', systemd: false, resources: { ...RES, ...extra } as LinuxResources };
    const before = snapshot(root);
    const predicted = predictCgroupWrites(planCgroup(spec, root));
    assert.equal(snapshot(root), before, 'nothing made or written');
    assert.ok(predicted.length > 3, JSON.stringify(predicted));
    const made = traceWrites(() => {
      prepareCgroup(spec, root);
    });
    assert.equal(predicted, made);
  });
}

test('the dry run reports create\'s errors (a controller the host lacks), before anything', () => {
  const root = tmp();
  makeFakeV1(root, ['memory']);
  assert.throws(() => predictCgroupWrites(planCgroup({ id: 'c', systemd: false, resources: { pids: { limit: 5 } } }, root)), /cannot set pids limit: the pids controller is not mounted/);
});

test('steps render by field name: mount flags, capability sets, rlimits, exec args/env, seccomp placeholder', () => {
  assert.equal(msNames(MS.BIND | MS.REC | MS.RDONLY), ['ro', 'bind', 'rec']);
  assert.equal(msNames(0x40000000), ['0x40000000']);
  assert.equal(capNames('0000000000200021'), ['CAP_CHOWN', 'CAP_KILL', 'CAP_SYS_ADMIN']);
  const plan = buildPlan(
    planInput({
      args: ['sh', '-c', 'echo a b'],
      edit: (c) => {
        c.process!.rlimits = [{ type: 'RLIMIT_NOFILE', soft: 10, hard: 20 }];
        c.mounts!.push({ destination: '/data', type: 'bind', source: '/srv/data', options: ['rbind', 'ro'] });
      },
    }),
  );
  const steps = plan.steps.map(renderStep);
  const data = steps.find((s) => s.op === 'mount' && s.dest === '/data');
  assert.equal(data, { op: 'mount', source: '/srv/data', dest: '/data', fstype: '', flags: ['ro', 'bind', 'rec'], data: '', propagation: [], kind: 'dir' });
  assert.equal(steps.find((s) => s.op === 'rlimit'), { op: 'rlimit', resource: 'RLIMIT_NOFILE', soft: '10', hard: '20' });
  const exec = steps.find((s) => s.op === 'exec')!;
  assert.equal(exec.args, ['sh', '-c', 'echo a b']);
  assert.ok((exec.env as string[]).some((e) => e.startsWith('PATH=')));
  const id = steps.find((s) => s.op === 'identity')!;
  assert.equal(id.bounding, ['CAP_KILL', 'CAP_NET_BIND_SERVICE', 'CAP_AUDIT_WRITE']);
  assert.equal(id.ambient, []);
  // Every op of the plan has a name (none rendered as a bare number).
  for (const s of steps) assert.not.match(s.op, /^op-/);
  const sc = renderStep({ op: Op.Seccomp, fields: ['0', Buffer.alloc(16), 'exec', '{"pid":1}'] });
  assert.match(String(sc.program), /^2 BPF instructions, sha256 [0-9a-f]{16}$/);
  assert.is(sc.state, '<containerProcessState, with the init pid>');
  assert.is(stepLine({ op: 'hostname', name: 'x' }), 'hostname         name=x');
});

test('text rendering: sections in order, hooks with where they run, placeholders kept', () => {
  const e: Explained = {
    id: 'c1',
    bundle: '/b',
    rootfs: '/b/rootfs',
    stateDir: '/run/tsrun/c1',
    namespaces: { shape: 'staged', clone: [], stages: ['clone', 'join', 'unshare', 'fork'], bootstrap: [{ op: 'setns', path: '/proc/7/ns/net', type: 'net' }, { op: 'unshare', types: ['mnt', 'pid'] }, { op: 'fork' }] },
    cgroup: { mode: 'v2', paths: { '': '/sys/fs/cgroup/c1' }, create: ['/sys/fs/cgroup/c1'], join: ['<init pid> > cgroup.procs'], writes: [{ path: '/sys/fs/cgroup/c1/pids.max', value: '64' }] },
    mounts: [{ op: 'mount', source: 'proc', dest: '/proc', fstype: 'proc', flags: [], data: '', propagation: [], kind: 'dir' }],
    devices: [{ op: 'mknod', dest: '/dev/null', type: 'c', major: '1', minor: '3', mode: '438', uid: '0', gid: '0' }],
    capabilities: { bounding: ['CAP_KILL'], effective: [], permitted: [], inheritable: [], ambient: [] },
    rlimits: [],
    seccomp: { defaultAction: 'SCMP_ACT_ERRNO', rules: 3, notify: true, listenerPath: '/run/agent.sock', instructions: 40, load: 'right before execve (no_new_privs)' },
    hooks: [{ stage: 'createRuntime', path: '/bin/hook', args: ['hook', 'x'], timeout: 5, where: 'runtime namespace, by tsrun (create)' }],
    process: { args: ['sh', '-c', 'echo hi'], env: ['PATH=/bin'], cwd: '/', user: { uid: 1000, gid: 1000, additionalGids: [5], umask: 0o22 }, terminal: false, noNewPrivileges: true },
    steps: [{ op: 'hostname', name: 'c1' }],
  };
  const t = formatExplained(e);
  const titles = [...t.matchAll(/^(\S[^:\n]*):$/gm)].map((m) => m[1]);
  assert.equal(titles, ['namespaces (staged)', 'cgroups (v2)', 'mounts', 'devices', 'capabilities', 'rlimits', 'seccomp', 'hooks', 'process', 'plan (1 steps, run by the init)']);
  assert.match(t, /^ {2}bootstrap setns +path=\/proc\/7\/ns\/net type=net$/m);
  assert.match(t, /^ {2}unified +\/sys\/fs\/cgroup\/c1 {2}\(new\)$/m);
  assert.match(t, /^ {2}write "64" > \/sys\/fs\/cgroup\/c1\/pids.max$/m);
  assert.match(t, /^ {2}join: <init pid> > cgroup.procs$/m);
  assert.match(t, /^ {2}\/dev\/null {2}c 1:3 {2}mode 666/m);
  assert.match(t, /^ {2}default SCMP_ACT_ERRNO, 3 rule\(s\), 40 BPF instructions, notify yes \(\/run\/agent.sock\)$/m);
  assert.match(t, /^ {2}createRuntime +\/bin\/hook x {2}\(timeout 5s\) {2}— runtime namespace, by tsrun \(create\)$/m);
  assert.match(t, /^ {2}args {2}sh -c "echo hi"$/m);
  assert.match(t, /^ {2}user {2}uid 1000 gid 1000 groups 5 umask 0022 {2}no_new_privs$/m);
});

test.run();
