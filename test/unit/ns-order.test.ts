/**
 * The namespace sequence (src/plan/ns-order.ts), run through a recording fake
 * of the kernel: the addon's clone, then the bootstrap's ops as the helper
 * executes them, then the plan's head. The fake tracks which user namespace
 * owns each namespace, which namespaces the process is in and when it first
 * becomes visible in a pid namespace, and the tests assert the numbered order
 * of ARCHITECTURE.md plus the rules behind it.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Linux, Namespace } from '../../src/config/types';
import { CLONE, createSequence, execSequence, pidJoinEarlyReason, pidJoinEarlyWarning, type NsSequence } from '../../src/plan/ns-order';
import { Op, type PlanStep } from '../../src/plan/ops';

const NAMES: [number, string][] = [
  [CLONE.NEWUSER, 'user'], [CLONE.NEWNS, 'mnt'], [CLONE.NEWUTS, 'uts'], [CLONE.NEWIPC, 'ipc'],
  [CLONE.NEWNET, 'net'], [CLONE.NEWPID, 'pid'], [CLONE.NEWCGROUP, 'cgroup'], [CLONE.NEWTIME, 'time'],
];

interface Fake {
  events: string[];
  /** Violations of the rules, in words. */
  errors: string[];
}

/** Replays a sequence: `joined` are namespaces that exist (by path or through the init), owned by the host's user ns unless a user ns is joined too. */
function replay(seq: NsSequence, opts: { targetPidNs?: boolean } = {}): Fake {
  const events: string[] = [];
  const errors: string[] = [];
  let userns: 'host' | 'joined' | 'new' = 'host';
  const inNs = new Set<string>(); // namespaces (by name) the process is in that are not the host's
  const created = new Set<string>();
  let pidForChildren: 'host' | 'target' | 'new' = 'host';
  let forked = false;
  let rootSwitched = false;
  const make = (names: string[], how: string) => {
    for (const n of names) {
      if (n !== 'user' && userns === 'host' && seq.newUserns) errors.push(`${n} namespace ${how} before the user namespace: owned by the host's`);
      inNs.add(n);
      created.add(n);
    }
  };
  const cloneNames = NAMES.filter(([f]) => seq.cloneFlags & f).map(([, n]) => n);
  events.push(cloneNames.length ? `clone(${cloneNames.join('|')})` : 'clone');
  if (seq.cloneFlags & CLONE.NEWTIME) errors.push('CLONE_NEWTIME is inside CSIGNAL: never a clone flag');
  if (seq.cloneFlags & CLONE.NEWUSER) userns = 'new';
  make(cloneNames.filter((n) => n !== 'user' && n !== 'pid'), 'cloned');
  if (seq.cloneFlags & CLONE.NEWPID) pidForChildren = 'new';
  const run = (steps: PlanStep[], where: string) => {
    for (const s of steps) {
      const f = s.fields.map(String);
      switch (s.op) {
        case Op.JoinCgroup:
          if (inNs.size > 0 || userns !== 'host') errors.push('a v1 cgroup is joined after a namespace hides the host\'s cgroup mounts');
          events.push('join-cgroup');
          break;
        case Op.SeccompListener:
          if (inNs.has('mnt')) errors.push('a host socket path is connected after the mount namespace changed');
          events.push('connect');
          break;
        case Op.Setns:
          if (f[2] === 'open') {
            if (inNs.has('mnt') || rootSwitched) errors.push('a namespace\'s host path opened after the mount namespace changed');
            events.push(`open ${f[1]}`);
            break;
          }
          if (f[0] === '' && !events.includes(`open ${f[1]}`)) errors.push(`setns ${f[1]} through an fd never opened`);
          if (f[1] === 'user') {
            if (inNs.size > 0) errors.push('a user namespace joined after others (it owns them)');
            userns = 'joined';
          } else if (userns === 'new') {
            errors.push(`setns ${f[1]} after creating the user namespace: no CAP_SYS_ADMIN over the host's namespaces (EPERM)`);
          }
          if (f[1] === 'pid') pidForChildren = 'target';
          else inNs.add(f[1]);
          if (f[1] === 'mnt') rootSwitched = true; // an existing mount namespace: its root (already pivoted)
          events.push(`setns ${f[1]}`);
          break;
        case Op.SetnsPidfd: {
          const mask = Number(f[1]);
          const names = NAMES.filter(([fl]) => mask & fl).map(([, n]) => n);
          if (names.includes('user')) userns = 'joined';
          for (const n of names) if (n !== 'pid' && n !== 'user') inNs.add(n);
          if (names.includes('mnt')) rootSwitched = true;
          if (names.includes('pid')) pidForChildren = 'target';
          events.push(`setns(pidfd, ${names.join('|')})`);
          break;
        }
        case Op.Unshare:
          if (f.length === 1 && f[0] === 'user') {
            if (created.size > 0) errors.push('user namespace made after other new namespaces: they stay owned by the host\'s');
            userns = 'new';
            events.push('unshare user', 'parent writes maps');
          } else {
            make(f.filter((n) => n !== 'pid'), 'unshared');
            if (f.includes('pid')) pidForChildren = 'new';
            events.push(`unshare ${f.join('|')}`);
          }
          break;
        case Op.Timens:
          events.push('unshare time');
          break;
        case Op.Fork:
          if (where !== 'bootstrap' && where !== 'after-root') errors.push('fork outside the bootstrap and the root switch');
          if (pidForChildren === 'target' && !inNs.has('mnt')) errors.push('visible in the target pid namespace before entering its mount namespace');
          // A joined pid namespace has other members: they must never see the host's root.
          if (pidForChildren === 'target' && !rootSwitched) errors.push('visible in a joined pid namespace before its root is switched (host root reachable)');
          forked = true;
          events.push('fork');
          break;
        default:
          events.push(`op ${s.op}`);
      }
    }
  };
  run(seq.bootstrap, 'bootstrap');
  if (seq.bootstrap.length > 0 && !forked && seq.enterPid.length === 0) errors.push('a bootstrap must end in the fork');
  events.push('--- plan');
  run(seq.head, 'plan');
  // build.ts: the rootfs phase (binds, mounts, devices, pivot_root), then enterPid.
  rootSwitched = true;
  if (seq.enterPid.length > 0) {
    events.push('rootfs + pivot_root');
    run(seq.enterPid, 'after-root');
  }
  if (opts.targetPidNs && !forked) errors.push('joining a pid namespace without the fork');
  return { events, errors };
}

const linux = (namespaces: Namespace[], extra: Partial<Linux> = {}): Linux => ({ namespaces, ...extra });
const base: Namespace[] = [{ type: 'pid' }, { type: 'network' }, { type: 'ipc' }, { type: 'uts' }, { type: 'mount' }];

test('create, nothing joined: one clone with every new namespace (fast path), no bootstrap', () => {
  const r = replay(createSequence(linux(base)));
  assert.equal(r.errors, []);
  assert.equal(r.events, ['clone(mnt|uts|ipc|net|pid)', '--- plan']);
});

test('create, new user namespace, nothing joined: still one clone (the kernel makes the user ns first)', () => {
  const seq = createSequence(linux([...base, { type: 'user' }]));
  const r = replay(seq);
  assert.equal(r.errors, []);
  assert.equal(r.events, ['clone(user|mnt|uts|ipc|net|pid)', '--- plan']);
  assert.ok(seq.newUserns);
});

test('create, new user namespace + netns by path: join, THEN create the user ns, THEN the rest, then fork', () => {
  const seq = createSequence(
    linux([{ type: 'pid' }, { type: 'network', path: '/run/netns/cni' }, { type: 'ipc' }, { type: 'uts' }, { type: 'mount' }, { type: 'user' }]),
    { joinCgroups: ['/sys/fs/cgroup/pids/c/tasks'] },
  );
  const r = replay(seq);
  assert.equal(r.errors, []);
  assert.equal(r.events, ['clone', 'join-cgroup', 'setns net', 'unshare user', 'parent writes maps', 'unshare mnt|uts|ipc|pid', 'fork', '--- plan']);
  assert.equal(seq.stages, ['clone', 'join-cgroups', 'join', 'create-user', 'unshare', 'fork']);
  assert.ok(seq.newUserns);
});

test('create joining a user namespace: it is joined first, the new ones are made in it', () => {
  const r = replay(createSequence(linux([{ type: 'user', path: '/proc/9/ns/user' }, { type: 'mount' }, { type: 'network', path: '/run/netns/x' }, { type: 'pid' }])));
  assert.equal(r.errors, []);
  assert.equal(r.events, ['clone', 'setns user', 'setns net', 'unshare mnt|pid', 'fork', '--- plan']);
});

test('create joining another container\'s pid namespace: entered only after the rootfs is pivoted, then the fork', () => {
  const seq = createSequence(linux([{ type: 'pid', path: '/proc/9/ns/pid' }, { type: 'mount' }, { type: 'ipc', path: '/proc/9/ns/ipc' }]));
  const r = replay(seq, { targetPidNs: true });
  assert.equal(r.errors, []);
  assert.equal(r.events, ['clone', 'open pid', 'setns ipc', 'unshare mnt', '--- plan', 'rootfs + pivot_root', 'setns pid', 'fork']);
  assert.equal(seq.stages, ['clone', 'open-pid', 'join', 'unshare', 'rootfs', 'enter-pid', 'fork']);
  assert.equal(seq.bootstrap[0].fields, ['/proc/9/ns/pid', 'pid', 'open']);
  assert.equal(seq.enterPid.map((s) => s.fields), [['', 'pid'], ['wait']]);
});

test('create joining a pid namespace with a joined user namespace and cgroup/time namespaces: those first, the pid namespace after the root', () => {
  const seq = createSequence(
    linux([{ type: 'user', path: '/proc/9/ns/user' }, { type: 'pid', path: '/proc/9/ns/pid' }, { type: 'mount' }, { type: 'cgroup' }]),
    { joinCgroups: ['/sys/fs/cgroup/pids/c/tasks'] },
  );
  const r = replay(seq, { targetPidNs: true });
  assert.equal(r.errors, []);
  assert.equal(r.events, ['clone', 'join-cgroup', 'open pid', 'setns user', 'unshare mnt', '--- plan', 'unshare cgroup', 'rootfs + pivot_root', 'setns pid', 'fork']);
});

test('create joining a pid namespace where hooks need the pid before pivot_root: runc\'s order, with the reason', () => {
  const nss: Namespace[] = [{ type: 'pid', path: '/proc/9/ns/pid' }, { type: 'mount' }];
  const hooks = { createRuntime: [{ path: '/bin/true' }] };
  const reason = pidJoinEarlyReason({ linux: linux(nss), hooks }, false);
  assert.match(reason ?? '', /createRuntime hooks/);
  const seq = createSequence(linux(nss), { pidEarly: reason });
  assert.equal(replay(seq, { targetPidNs: true }).events, ['clone', 'unshare mnt', 'setns pid', 'fork', '--- plan']);
  assert.equal(seq.enterPid, []);
  assert.match(pidJoinEarlyWarning(reason!), /pid namespace joined by path: createRuntime hooks need .*\(runc's order/);
  // The other reasons, and none without a pid namespace joined by path.
  assert.match(pidJoinEarlyReason({ linux: linux(nss) }, true) ?? '', /seccomp agent/);
  const lxcfs = [{ destination: '/proc', type: 'proc', source: 'proc' }, { destination: '/proc/cpuinfo', type: 'bind', source: '/var/lib/lxcfs/proc/cpuinfo', options: ['bind'] }];
  assert.match(pidJoinEarlyReason({ linux: linux(nss), mounts: lxcfs }, false) ?? '', /bind mount onto \/proc\/cpuinfo/);
  assert.is(pidJoinEarlyReason({ linux: linux(nss), mounts: lxcfs.slice(0, 1) }, false), undefined);
  assert.is(pidJoinEarlyReason({ linux: linux([{ type: 'pid' }]), hooks }, false), undefined);
  const userns = linux([...nss, { type: 'user', path: '/proc/9/ns/user' }]);
  assert.match(pidJoinEarlyReason({ linux: userns }, false, true) ?? '', /--no-pivot in a user namespace/);
  assert.is(pidJoinEarlyReason({ linux: userns }, false, false), undefined);
  assert.is(pidJoinEarlyReason({ linux: linux(nss) }, false, true), undefined);
});

test('create: cgroup and time namespaces are made in the plan proper (after the cgroups are joined; time never as a clone flag)', () => {
  const seq = createSequence(linux([...base, { type: 'cgroup' }, { type: 'time' }], { timeOffsets: { monotonic: { secs: 5 } } }));
  const r = replay(seq);
  assert.equal(r.errors, []);
  assert.equal(r.events, ['clone(mnt|uts|ipc|net|pid)', '--- plan', 'unshare cgroup', 'unshare time']);
  assert.is(seq.cloneFlags & CLONE.NEWTIME, 0);
});

test('create: the seccomp agent socket is connected before any join (staged) or first (fast)', () => {
  const listener: PlanStep = { op: Op.SeccompListener, fields: ['/run/agent.sock'] };
  const staged = replay(createSequence(linux([...base.filter((n) => n.type !== 'network'), { type: 'network', path: '/run/netns/x' }]), { listener }));
  assert.equal(staged.errors, []);
  assert.equal(staged.events.slice(0, 3), ['clone', 'connect', 'setns net']);
  const fast = replay(createSequence(linux(base), { listener }));
  assert.equal(fast.events, ['clone(mnt|uts|ipc|net|pid)', '--- plan', 'connect']);
});

test('exec: cgroups, then every namespace of the init through its pidfd (mnt included), then the fork', () => {
  const types = new Set<Namespace['type']>(['pid', 'network', 'ipc', 'uts', 'mount', 'user', 'cgroup']);
  const seq = execSequence(types, { pidfd: 7 }, { joinCgroups: ['/sys/fs/cgroup/pids/c/tasks'] });
  const r = replay(seq, { targetPidNs: true });
  assert.equal(r.errors, []);
  assert.equal(r.events, ['clone', 'join-cgroup', 'setns(pidfd, user|mnt|uts|ipc|net|pid|cgroup)', 'fork', '--- plan']);
  assert.equal(seq.stages, ['clone', 'join-cgroups', 'join-pidfd', 'fork']);
});

test('exec without pidfds: per-file joins, mnt before the fork', () => {
  const types = new Set<Namespace['type']>(['pid', 'network', 'mount', 'user']);
  const r = replay(execSequence(types, { nsDir: '/proc/9/ns' }), { targetPidNs: true });
  assert.equal(r.errors, []);
  assert.equal(r.events, ['clone', 'setns user', 'setns net', 'setns pid', 'setns mnt', 'fork', '--- plan']);
});

test('the fake catches the old shapes: clone(NEWNS) then setns(user); setns after unshare(user); fork before setns(mnt)', () => {
  const old1: NsSequence = { cloneFlags: CLONE.NEWNS, bootstrap: [], head: [{ op: Op.Setns, fields: ['/u', 'user'] }], enterPid: [], newUserns: false, stages: [] };
  assert.ok(replay(old1).errors.some((e) => /user namespace joined after others/.test(e)));
  const old2: NsSequence = {
    cloneFlags: 0,
    bootstrap: [{ op: Op.Unshare, fields: ['user'] }, { op: Op.Setns, fields: ['/n', 'net'] }, { op: Op.Fork, fields: [] }],
    head: [], enterPid: [], newUserns: true, stages: [],
  };
  assert.ok(replay(old2).errors.some((e) => /EPERM/.test(e)));
  const old3: NsSequence = {
    cloneFlags: 0,
    bootstrap: [{ op: Op.Setns, fields: ['/p', 'pid'] }, { op: Op.Fork, fields: [] }, ],
    head: [{ op: Op.Setns, fields: ['/m', 'mnt'] }], enterPid: [], newUserns: false, stages: [],
  };
  assert.ok(replay(old3).errors.some((e) => /before entering its mount namespace/.test(e)));
  // The order before the late pid entry: mnt joined/made, but the fork into a joined pid namespace before pivot_root.
  const old4: NsSequence = {
    cloneFlags: 0,
    bootstrap: [{ op: Op.Unshare, fields: ['mnt'] }, { op: Op.Setns, fields: ['/p', 'pid'] }, { op: Op.Fork, fields: [] }],
    head: [], enterPid: [], newUserns: false, stages: [],
  };
  assert.ok(replay(old4).errors.some((e) => /before its root is switched/.test(e)));
});

test.run();
