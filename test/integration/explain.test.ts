/**
 * `tsrun explain` shows the very plan create executes: create writes what it
 * executes (TSRUN_TEST_DUMP_PLAN, with the cgroup writes it really made) and
 * it must equal `tsrun explain --format json` of the same bundle, for several
 * shapes (cgroup resources, mounts, seccomp, hooks, user namespace, joined
 * namespaces). `create --dry-run` prints the same and leaves nothing behind.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { controllerOn, hostTest, needs } from '../helpers/host';
import { killAndRemoveCgroup } from '../helpers/cgroups';
import { REPO, Sandbox, TSRUN } from '../helpers/tsrun';

const sb = new Sandbox('tsrun-explain-');
fs.chmodSync(sb.dir, 0o755); // a user namespace's root (a high host uid) must reach the bundles
/** Every container of this file lives below this cgroup path (removed at the end). */
const CG = `/tsrun-explain-${process.pid}`;
const madeCgroups = new Set<string>();
test.after(() => {
  sb.cleanup();
  for (const d of [...madeCgroups].sort((a, b) => b.length - a.length)) killAndRemoveCgroup(d);
});

type Explained = Record<string, any>;

function explain(bundle: string, id: string): Explained {
  const r = sb.tsrun(['explain', '--bundle', bundle, '--format', 'json', id]);
  assert.is(r.status, 0, r.stderr);
  const e = JSON.parse(r.stdout) as Explained;
  for (const d of Object.values(e.cgroup.paths) as string[]) {
    madeCgroups.add(d);
    madeCgroups.add(path.dirname(d));
  }
  return e;
}

/** create with the dump hook; returns what it executed. */
function createDumped(bundle: string, id: string): Explained {
  const dump = path.join(sb.dir, `${id}.plan.json`);
  const r = sb.exec([TSRUN, '--root', sb.root, 'create', '--bundle', bundle, id], { env: { TSRUN_TEST_DUMP_PLAN: dump } });
  assert.is(r.status, 0, r.stderr);
  return JSON.parse(fs.readFileSync(dump, 'utf8')) as Explained;
}

/** explain, then create: the two must be equal (placeholders included: both render the same object). */
function assertSame(bundle: string, id: string): Explained {
  const before = explain(bundle, id);
  const executed = createDumped(bundle, id);
  assert.equal(executed.cgroup.writes, before.cgroup.writes, 'cgroup writes: predicted = made');
  assert.equal(executed.steps, before.steps, 'init plan steps');
  assert.equal(executed.namespaces, before.namespaces, 'namespaces');
  assert.equal(executed, before);
  return before;
}

/** The resources this host can take (a limit only where its controller exists). */
function resources(): Record<string, unknown> {
  const r: Record<string, unknown> = {};
  if (controllerOn('memory')) r.memory = { limit: 256 * 1024 * 1024 };
  if (controllerOn('pids')) r.pids = { limit: 64 };
  if (controllerOn('cpu')) r.cpu = { shares: 512 };
  return r;
}

hostTest(test, 'explain = create: cgroup resources, mounts, seccomp, hooks, rlimits', needs.root, () => {
  const id = sb.id('full');
  const src = path.join(sb.dir, 'share');
  fs.mkdirSync(src, { recursive: true });
  const b = sb.bundle({
    args: ['sleep', '100'],
    edit: (c) => {
      c.linux.cgroupsPath = `${CG}/${id}`;
      c.linux.resources = { ...c.linux.resources, ...resources() };
      c.mounts.push({ destination: '/share', type: 'bind', source: src, options: ['rbind', 'ro', 'nosuid'] });
      c.mounts.push({ destination: '/scratch', type: 'tmpfs', source: 'tmpfs', options: ['size=1m', 'mode=1777', 'nodev'] });
      c.linux.seccomp = { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdirat', 'mkdir'], action: 'SCMP_ACT_ERRNO', errnoRet: 1 }] };
      c.process.rlimits = [{ type: 'RLIMIT_NOFILE', soft: 512, hard: 1024 }];
      c.hooks = {
        createRuntime: [{ path: '/bin/true', args: ['true', 'cr'] }],
        createContainer: [{ path: '/bin/true', args: ['true', 'cc'] }],
        startContainer: [{ path: '/bin/true', args: ['true', 'sc'] }],
        poststop: [{ path: '/bin/true' }],
      };
    },
  });
  const e = assertSame(b, id);
  assert.is(e.seccomp.defaultAction, 'SCMP_ACT_ALLOW');
  assert.is(e.seccomp.rules, 1);
  assert.is(e.seccomp.notify, false);
  assert.equal(e.hooks.map((h: { stage: string }) => h.stage), ['createRuntime', 'createContainer', 'startContainer', 'poststop']);
  assert.ok(e.mounts.some((m: any) => m.op === 'mount' && m.source === src && m.dest === '/share' && m.flags.includes('ro') && m.flags.includes('bind')));
  assert.equal(e.rlimits.map((r: any) => [r.resource, r.soft, r.hard]), [['RLIMIT_NOFILE', '512', '1024']]);
  if (controllerOn('pids')) assert.ok(e.cgroup.writes.some((w: any) => w.path.endsWith('/pids.max') && w.value === '64'), JSON.stringify(e.cgroup.writes));
  assert.is(sb.tsrun(['delete', '--force', id]).status, 0);
});

hostTest(test, 'explain = create: a new user namespace (cgroups made after the clone)', needs.root, () => {
  const id = sb.id('userns');
  const HOST = 300000;
  const b = sb.bundle({
    args: ['sleep', '100'],
    edit: (c) => {
      c.linux.cgroupsPath = `${CG}/${id}`;
      c.linux.resources = { ...c.linux.resources, ...resources() };
      c.linux.namespaces.push({ type: 'user' });
      c.linux.uidMappings = [{ containerID: 0, hostID: HOST, size: 65536 }];
      c.linux.gidMappings = [{ containerID: 0, hostID: HOST, size: 65536 }];
      c.mounts = c.mounts.filter((m: any) => m.type !== 'sysfs' && m.type !== 'cgroup');
    },
  });
  const e = assertSame(b, id);
  assert.ok(e.namespaces.clone.includes('user'), JSON.stringify(e.namespaces));
  assert.ok(e.cgroup.join.some((j: string) => j.includes('<init pid>')), JSON.stringify(e.cgroup.join));
  assert.is(sb.tsrun(['delete', '--force', id]).status, 0);
});

hostTest(test, 'explain = create: namespaces joined by path (staged entry)', needs.root, () => {
  const a = sb.id('owner');
  const ba = sb.bundle({ args: ['sleep', '100'], edit: (c) => (c.linux.cgroupsPath = `${CG}/${a}`) });
  assert.is(sb.tsrun(['create', '--bundle', ba, a]).status, 0);
  const pid = sb.state(a).pid as number;
  const id = sb.id('joiner');
  const b = sb.bundle({
    args: ['sleep', '100'],
    edit: (c) => {
      c.linux.cgroupsPath = `${CG}/${id}`;
      c.linux.namespaces = c.linux.namespaces.map((n: { type: string }) => (n.type === 'network' || n.type === 'ipc' ? { type: n.type, path: `/proc/${pid}/ns/${n.type === 'network' ? 'net' : 'ipc'}` } : n));
    },
  });
  const e = assertSame(b, id);
  assert.is(e.namespaces.shape, 'staged');
  assert.ok(e.namespaces.stages.includes('join'), JSON.stringify(e.namespaces.stages));
  assert.ok(e.namespaces.bootstrap.some((s: any) => s.op === 'setns' && s.type === 'net' && s.path === `/proc/${pid}/ns/net`));
  assert.is(sb.tsrun(['delete', '--force', id]).status, 0);
  assert.is(sb.tsrun(['delete', '--force', a]).status, 0);
});

hostTest(test, 'create --dry-run prints the plan (as explain) and leaves nothing: no state dir, no cgroup, no process', needs.root, () => {
  const id = sb.id('dry');
  const b = sb.bundle({
    args: ['sleep', '100'],
    edit: (c) => {
      c.linux.cgroupsPath = `${CG}/${id}`;
      c.linux.resources = { ...c.linux.resources, ...resources() };
    },
  });
  const e = explain(b, id);
  const r = sb.tsrun(['create', '--dry-run', '--format', 'json', '--bundle', b, id]);
  assert.is(r.status, 0, r.stderr);
  assert.equal(JSON.parse(r.stdout), e);
  const text = sb.tsrun(['create', '--dry-run', '--bundle', b, id]);
  assert.is(text.status, 0, text.stderr);
  assert.match(text.stdout, /^namespaces \(fast\):$/m);
  assert.match(text.stdout, /^ {2}args {2}sleep 100$/m);
  assert.not.ok(fs.existsSync(path.join(sb.root, id)), 'no state dir');
  for (const d of Object.values(e.cgroup.paths) as string[]) assert.not.ok(fs.existsSync(d), `cgroup ${d} made`);
  assert.is(sb.tsrun(['state', id]).status, 1, 'no container');
});

hostTest(test, 'create --dry-run leaves the create bundle\'s code cache to a real create (one made from it would lack create\'s functions)', needs.root, () => {
  const cache = path.join(REPO, 'dist/bundle/src/commands/create.js.cache');
  if (!fs.existsSync(path.join(REPO, 'dist/bundle/src/commands/create.js'))) return;
  const b = sb.bundle({ args: ['true'], edit: (c) => (c.linux.cgroupsPath = `${CG}/cache`) });
  fs.rmSync(cache, { force: true });
  const r = sb.tsrun(['create', '--dry-run', '--bundle', b, sb.id('cache')]);
  assert.is(r.status, 0, r.stderr);
  assert.not.ok(fs.existsSync(cache), 'no cache written by --dry-run');
  const id = sb.id('cache');
  assert.is(sb.tsrun(['create', '--bundle', b, id]).status, 0);
  assert.ok(fs.existsSync(cache), 'written by the real create');
  assert.is(sb.tsrun(['delete', '--force', id]).status, 0);
});

test('explain of a bad bundle fails as create does, with create\'s words', () => {
  const b = sb.bundle({ edit: (c) => (c.process.rlimits = [{ type: 'RLIMIT_BOGUS', soft: 1, hard: 1 }]) });
  const r = sb.tsrun(['explain', '--bundle', b]);
  assert.is(r.status, 1);
  assert.match(r.stderr, /RLIMIT_BOGUS/);
});

test.run();
