/**
 * The systemd cgroup driver (--systemd-cgroup) against a real systemd: a
 * private one (test/helpers/systemd.ts) in its own namespaces and cgroup2
 * subtree, so any host with systemd installed and a cgroup2 hierarchy runs
 * these, whatever its pid 1. tsrun and runc side by side: the container is a
 * transient scope `<prefix>-<name>.scope` in the slice, Delegate=yes, the
 * init in it; delete stops the unit and its cgroup goes; a failed or killed
 * create leaves no unit behind; a malformed cgroupsPath fails first, in
 * runc's words.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { hostTest } from '../helpers/host';
import { PrivateSystemd, privateSystemdUnmet } from '../helpers/systemd';
import { Sandbox, TSRUN, type Result } from '../helpers/tsrun';

const RUNC = ['/usr/sbin/runc', '/usr/bin/runc', '/usr/local/sbin/runc'].find((p) => fs.existsSync(p));
const sb = new Sandbox('tsrun-sdcg-');
const unmet = privateSystemdUnmet();
let sd: PrivateSystemd | undefined;
/** [runtime, root, id] of every container made, for after(). */
const made: [string, string, string][] = [];

test.before(() => {
  if (unmet) return;
  sd = new PrivateSystemd('cg');
  sd.start();
});

test.after(() => {
  if (sd?.pid) for (const [rt, root, id] of made) sd.run([rt, '--root', root, 'delete', '--force', id]);
  sd?.stop();
  sb.cleanup();
});

const need = (): string | undefined => unmet;

function rt(runtime: string, args: string[], env?: NodeJS.ProcessEnv): Result {
  const root = runtime === TSRUN ? sb.root : path.join(sb.dir, 'runc-root');
  if (args[0] === 'create' || args[0] === 'run') made.push([runtime, root, args[args.length - 1]]);
  return sb.exec(sd!.argv([runtime, '--root', root, ...args]), { env });
}

function bundle(cgroupsPath: string | undefined, args = ['sleep', '300']): string {
  return sb.bundle({
    args,
    edit: (c) => {
      if (cgroupsPath === undefined) delete c.linux.cgroupsPath;
      else c.linux.cgroupsPath = cgroupsPath;
      // The private systemd's cgroup2 tree may offer no controllers (a hybrid host's are on v1).
      delete c.linux.resources?.memory;
      delete c.linux.resources?.cpu;
      delete c.linux.resources?.pids;
    },
  });
}

const PROPS = ['LoadState', 'ActiveState', 'Delegate', 'Slice', 'ControlGroup', 'DefaultDependencies', 'DevicePolicy'];

hostTest(test, '--systemd-cgroup: a transient scope in the slice, Delegate=yes, the init in it; delete stops it — as runc', need, () => {
  const runtimes: [string, string][] = [[TSRUN, 'tsrun']];
  if (RUNC) runtimes.push([RUNC, 'runc']);
  const seen: Record<string, Record<string, string>> = {};
  for (const [runtime, name] of runtimes) {
    const id = `sd-${name}-${process.pid}`;
    const unit = `${name}x-${id}.scope`;
    const b = bundle(`system.slice:${name}x:${id}`);
    const c = rt(runtime, ['--systemd-cgroup', 'create', '--bundle', b, id]);
    assert.is(c.status, 0, `${name} create: ${c.stderr}`);
    assert.not.match(c.stderr, /not empty/, `${name}: no warning about its own scope`);
    const props = sd!.show(unit, PROPS);
    assert.is(props.ActiveState, 'active', `${name}: ${JSON.stringify(props)}`);
    assert.is(props.Delegate, 'yes');
    assert.is(props.Slice, 'system.slice');
    assert.is(props.DefaultDependencies, 'no');
    assert.is(props.ControlGroup, `/system.slice/${unit}`);
    const pid = Number(JSON.parse(rt(runtime, ['state', id]).stdout).pid);
    // Pids as systemd's pid namespace numbers them (the runtimes ran there).
    const procs = sd!.run(['cat', path.join('/sys/fs/cgroup', props.ControlGroup, 'cgroup.procs')]).stdout.split('\n').filter(Boolean).map(Number);
    assert.ok(procs.includes(pid), `${name}: init ${pid} in the scope (${procs.join(' ')})`);
    seen[name] = { Delegate: props.Delegate, Slice: props.Slice, DefaultDependencies: props.DefaultDependencies, DevicePolicy: props.DevicePolicy };
    assert.is(rt(runtime, ['start', id]).status, 0);
    const e = rt(runtime, ['exec', id, 'true']);
    assert.is(e.status, 0, `${name} exec: ${e.stderr}`);
    const d = rt(runtime, ['delete', '--force', id]);
    assert.is(d.status, 0, `${name} delete: ${d.stderr}`);
    const after = sd!.show(unit, ['LoadState', 'ActiveState']);
    assert.ok(after.LoadState === 'not-found' || after.ActiveState === 'inactive', `${name}: unit gone after delete (${JSON.stringify(after)})`);
    assert.not.ok(fs.existsSync(sd!.hostPath(`/system.slice/${unit}`)), `${name}: its cgroup removed`);
  }
  if (seen.runc) assert.equal(seen.tsrun, seen.runc);
});

hostTest(test, '--systemd-cgroup without cgroupsPath: system.slice, unit tsrun-<id>.scope', need, () => {
  const id = `sd-default-${process.pid}`;
  const c = rt(TSRUN, ['--systemd-cgroup', 'create', '--bundle', bundle(undefined), id]);
  assert.is(c.status, 0, c.stderr);
  assert.is(sd!.show(`tsrun-${id}.scope`, ['ActiveState']).ActiveState, 'active');
  assert.is(rt(TSRUN, ['delete', '--force', id]).status, 0);
  assert.not.ok(fs.existsSync(sd!.hostPath(`/system.slice/tsrun-${id}.scope`)));
});

hostTest(test, '--systemd-cgroup: a create that fails after the scope started (missing command) leaves no unit, cgroup or state', need, () => {
  const id = `sd-fail-${process.pid}`;
  const unit = `tsrunf-${id}.scope`;
  const c = rt(TSRUN, ['--systemd-cgroup', 'create', '--bundle', bundle(`system.slice:tsrunf:${id}`, ['/no/such/command']), id]);
  assert.is.not(c.status, 0);
  assert.match(c.stderr, /no such file or directory/);
  const props = sd!.show(unit, ['LoadState', 'ActiveState']);
  assert.ok(props.LoadState === 'not-found' || props.ActiveState === 'inactive', JSON.stringify(props));
  assert.not.ok(fs.existsSync(sd!.hostPath(`/system.slice/${unit}`)));
  assert.not.ok(fs.existsSync(path.join(sb.root, id)));
});

hostTest(test, '--systemd-cgroup: create SIGKILLed right after the scope was made, then delete --force removes the unit', need, () => {
  const id = `sd-kill-${process.pid}`;
  const unit = `tsrunk-${id}.scope`;
  const c = rt(TSRUN, ['--systemd-cgroup', 'create', '--bundle', bundle(`system.slice:tsrunk:${id}`), id], { TSRUN_TEST_KILL_AT: 'cgroup-made' });
  assert.is(c.signal, 'SIGKILL', `create killed itself: ${c.status} ${c.stderr}`);
  // The record names the unit (the init, reading EOF from its dead creator, may already have left it).
  assert.match(fs.readFileSync(path.join(sb.root, id, 'state.json'), 'utf8'), new RegExp(`"systemdUnit":"${unit}"`));
  const d = rt(TSRUN, ['delete', '--force', id]);
  assert.is(d.status, 0, d.stderr);
  const props = sd!.show(unit, ['LoadState', 'ActiveState']);
  assert.ok(props.LoadState === 'not-found' || props.ActiveState === 'inactive', JSON.stringify(props));
  assert.not.ok(fs.existsSync(sd!.hostPath(`/system.slice/${unit}`)));
});

hostTest(test, '--systemd-cgroup: a cgroupsPath not of the form slice:prefix:name fails before anything exists, in runc\'s words', need, () => {
  const id = `sd-bad-${process.pid}`;
  const c = rt(TSRUN, ['--systemd-cgroup', 'create', '--bundle', bundle('/not/systemd'), id]);
  assert.is(c.status, 1);
  assert.match(c.stderr, /expected cgroupsPath to be of format \\"slice:prefix:name\\" for systemd cgroups, got \\"\/not\/systemd\\" instead/);
  assert.not.ok(fs.existsSync(path.join(sb.root, id)));
});

test.run();
