/**
 * addon/launcher/fastpath.c: `delete --force` of a missing container, `kill
 * --all` of a container whose init is gone and whose cgroup is empty, `kill`
 * of a live init, and `delete` of a stopped container without poststop hooks
 * are answered by the launcher without starting Node (engines send them on
 * every stop), from state.json and the flat record <root>/<id>/fast
 * (src/state/fast.ts); everything else still reaches the CLI. "Reaches the CLI" is observed with no
 * node on PATH: the launcher then fails with exit 127.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';

const REPO = path.resolve(__dirname, '../../..');
const BIN = path.join(REPO, 'bin/tsrun');
const BOOT = path.join(REPO, 'dist/src/cli/boot.js');
const root = fs.mkdtempSync(path.join(os.tmpdir(), 'tsrun-fastpath-'));
const NO_NODE = { PATH: '/nonexistent-tsrun-dir' };

/** bin/tsrun with no node on PATH: 127 means the CLI would have run. */
function launcher(args: string[]) {
  const r = spawnSync(BIN, args, { encoding: 'utf8', env: NO_NODE });
  return { code: r.status, stderr: r.stderr };
}

/** The CLI itself (what the launcher would have run). */
function cli(args: string[]) {
  const env = { ...process.env };
  delete env.NODE_OPTIONS;
  delete env.NODE_EXTRA_CA_CERTS;
  const r = spawnSync(process.execPath, [BOOT, ...args], { encoding: 'utf8', env });
  return { code: r.status, stderr: r.stderr };
}

const selfStart = fs.readFileSync('/proc/self/stat', 'latin1').slice(fs.readFileSync('/proc/self/stat', 'latin1').lastIndexOf(')') + 2).split(' ')[19];

interface Fast {
  pidns?: 'private' | 'shared';
  poststop?: number;
  procs?: string;
  dirs?: [kind: 'leaf' | 'dir', dir: string][];
  /** Replaces the whole text. */
  text?: string;
}

/** A state record as tsrun writes it (its first fields, in its order), and its fast record unless `fast` is null. */
function writeState(id: string, pid: number, initStartTime: string, fast: Fast | null = {}): void {
  fs.mkdirSync(path.join(root, id), { recursive: true });
  const rec = { ociVersion: '1.3.0', id, pid, initStartTime, bundle: '/nonexistent', rootfs: '/nonexistent/rootfs', created: new Date().toISOString(), owner: 'root', annotations: {} };
  fs.writeFileSync(path.join(root, id, 'state.json'), JSON.stringify(rec));
  if (fast === null) return;
  const lines = ['tsrun-fast 1', `pidns ${fast.pidns ?? 'private'}`, `poststop ${fast.poststop ?? 0}`];
  if (fast.procs) lines.push(`procs ${fast.procs}`);
  for (const [k, d] of fast.dirs ?? []) lines.push(`${k} ${d}`);
  lines.push('end');
  fs.writeFileSync(path.join(root, id, 'fast'), fast.text ?? lines.join('\n') + '\n');
}

/** A directory standing for a cgroup (cgroup.procs with these pids, when given). */
function fakeCgroup(name: string, pids?: number[]): string {
  const d = path.join(root, 'cg', name);
  fs.mkdirSync(d, { recursive: true });
  if (pids) fs.writeFileSync(path.join(d, 'cgroup.procs'), pids.map((p) => `${p}\n`).join(''));
  return d;
}

function startTime(pid: number): string {
  const st = fs.readFileSync(`/proc/${pid}/stat`, 'latin1');
  return st.slice(st.lastIndexOf(')') + 2).split(' ')[19];
}

/** A live process to stand for a container's init (killed in the end whatever happens). */
function liveInit(): { pid: number; start: string; exited: () => NodeJS.Signals | null | undefined } {
  const c = spawn('sleep', ['100'], { stdio: 'ignore' });
  let sig: NodeJS.Signals | null | undefined;
  c.on('exit', (_code, s) => (sig = s));
  children.push(c);
  const pid = c.pid!;
  for (let i = 0; i < 100 && !/^\d+$/.test(startTime(pid)); i++);
  return { pid, start: startTime(pid), exited: () => sig };
}
const children: ChildProcess[] = [];
const settle = () => new Promise((r) => setTimeout(r, 100));

test.after(() => {
  for (const c of children) c.kill('SIGKILL');
  fs.rmSync(root, { recursive: true, force: true });
});

test('delete --force of a missing container: 0 without Node, as the CLI answers', () => {
  const args = ['--root', root, '--log', path.join(root, 'log.json'), '--log-format', 'json', 'delete', '--force', 'gone'];
  assert.equal(launcher(args), { code: 0, stderr: '' });
  assert.is(cli(args).code, 0);
  assert.is(launcher(['--root=' + root, 'delete', 'gone', '-f']).code, 0, 'flags after the id, --root=');
});

test('kill --all of a stopped container (pid reused): 0 without Node, as the CLI answers', () => {
  writeState('reused', process.pid, String(Number(selfStart) + 1));
  const args = ['--root', root, '--log', path.join(root, 'log.json'), '--log-format', 'json', 'kill', '--all', 'reused', '9'];
  assert.equal(launcher(args), { code: 0, stderr: '' });
  assert.is(cli(args).code, 0, cli(args).stderr);
  assert.is(launcher(['--root', root, 'kill', '-a', 'reused']).code, 0, 'default signal, -a');
});

test('kill --all of a container whose init is gone: 0 without Node', () => {
  const child = spawnSync('true');
  assert.is(child.status, 0);
  writeState('exited', child.pid!, '1');
  assert.is(launcher(['--root', root, 'kill', '--all', 'exited', '15']).code, 0);
});

test('everything else reaches the CLI', () => {
  writeState('live', process.pid, selfStart);
  fs.mkdirSync(path.join(root, 'halfmade'), { recursive: true });
  fs.writeFileSync(path.join(root, '.locked-only.lock'), '1 1'); // a create killed right after it locked
  const cases: string[][] = [
    ['--root', root, 'delete', 'gone'], // no --force: "container does not exist"
    ['--root', root, 'delete', '--force', 'halfmade'], // exists (a create that died half-way)
    ['--root', root, 'delete', '--force', 'locked-only'], // its lock alone: the CLI removes it
    ['--root', root, 'kill', '--all', 'live', '9'], // a live init: a real kill
    ['--root', root, 'kill', 'reused', '9'], // no --all: "not running"
    ['--root', root, 'delete', 'live'], // a live init: "not stopped"
    ['--root', root, 'delete', '--force', 'live'], // a live init: killed and waited for
    ['--root', root, 'kill', '--all', 'reused', 'KILL'], // a signal name: the CLI parses it
    ['--root', root, 'kill', '--all', 'reused', '0'],
    ['--root', root, 'kill', '--all', 'gone', '9'], // no such container
    ['--root', root, 'delete', '--force', '..'], // invalid id
    ['--root', root, '--debug', 'delete', '--force', 'gone'],
    ['delete', '--force', 'gone'], // the default root is the CLI's to pick
    ['--root', root, 'delete', '--force', 'gone', 'extra'],
    ['--root', root, 'state', 'gone'],
  ];
  for (const args of cases) {
    const r = launcher(args);
    assert.is(r.code, 127, args.join(' '));
    assert.is(r.stderr, 'tsrun: exec node: No such file or directory\n', args.join(' '));
  }
});

test('a state file not in the form tsrun writes reaches the CLI', () => {
  fs.mkdirSync(path.join(root, 'odd'), { recursive: true });
  fs.writeFileSync(path.join(root, 'odd', 'state.json'), JSON.stringify({ id: 'odd', ociVersion: '1.3.0', pid: 1, initStartTime: '1' }));
  assert.is(launcher(['--root', root, 'kill', '--all', 'odd', '9']).code, 127);
});

test('kill --all of a stopped container whose cgroup still has processes (no private pid namespace): signalled without Node, frozen meanwhile', async () => {
  const dead = spawnSync('true').pid!;
  const left = liveInit();
  const freezer = fakeCgroup('leftovers-freezer');
  fs.writeFileSync(path.join(freezer, 'freezer.state'), 'THAWED\n');
  writeState('leftovers', dead, '1', { pidns: 'shared', procs: fakeCgroup('leftovers', [left.pid]) });
  // The record as writeState made it, plus a (fake) v1 freezer:
  const fast = fs.readFileSync(path.join(root, 'leftovers', 'fast'), 'utf8').replace('end\n', `freezer v1 ${freezer}\nend\n`);
  fs.writeFileSync(path.join(root, 'leftovers', 'fast'), fast);
  assert.equal(launcher(['--root', root, '--log', path.join(root, 'log.json'), '--log-format', 'json', 'kill', '--all', 'leftovers', '9']), { code: 0, stderr: '' });
  await settle();
  assert.is(left.exited(), 'SIGKILL');
  assert.is(fs.readFileSync(path.join(freezer, 'freezer.state'), 'utf8').trim(), 'THAWED', 'thawed in the end');
  const emptied = fakeCgroup('emptycg', []);
  writeState('emptycg', dead, '1', { pidns: 'shared', procs: emptied });
  assert.is(launcher(['--root', root, 'kill', '--all', 'emptycg', '9']).code, 0, 'an empty cgroup: nothing to do');
});

test('kill --all of a stopped container that the CLI must do: a sub-cgroup, a freezer that fails, no or a torn fast record', async () => {
  const dead = spawnSync('true').pid!;
  const left = liveInit();
  writeState('subcg', dead, '1', { pidns: 'shared', procs: fakeCgroup('subcg', [left.pid]) });
  fs.mkdirSync(path.join(root, 'cg', 'subcg', 'child'));
  assert.is(launcher(['--root', root, 'kill', '--all', 'subcg', '9']).code, 127, 'a sub-cgroup: the CLI walks it');
  writeState('nofreeze', dead, '1', { pidns: 'shared', procs: fakeCgroup('nofreeze', [left.pid]) });
  fs.writeFileSync(path.join(root, 'nofreeze', 'fast'), fs.readFileSync(path.join(root, 'nofreeze', 'fast'), 'utf8').replace('end\n', `freezer v1 ${path.join(root, 'cg', 'missing')}\nend\n`));
  assert.is(launcher(['--root', root, 'kill', '--all', 'nofreeze', '9']).code, 127, 'the freeze failed: the CLI');
  writeState('nofast', dead, '1', null);
  assert.is(launcher(['--root', root, 'kill', '--all', 'nofast', '9']).code, 127, 'no fast record: the CLI');
  writeState('torn', dead, '1', { text: 'tsrun-fast 1\npidns private\npoststop 0\n' });
  assert.is(launcher(['--root', root, 'kill', '--all', 'torn', '9']).code, 127, 'a torn fast record: the CLI');
  await settle();
  assert.is(left.exited(), undefined, 'never signalled');
});

test('kill <id> <sig> of a live init: signalled without Node (pidfd), as the CLI does', async () => {
  const init = liveInit();
  writeState('run', init.pid, init.start);
  assert.equal(launcher(['--root', root, '--log', path.join(root, 'log.json'), '--log-format', 'json', 'kill', 'run', '15']), { code: 0, stderr: '' });
  await settle();
  assert.is(init.exited(), 'SIGTERM');
  const other = liveInit();
  writeState('dflt', other.pid, other.start);
  assert.is(launcher(['--root', root, 'kill', 'dflt']).code, 0, 'default signal');
  await settle();
  assert.is(other.exited(), 'SIGTERM');
});

test('kill of a live init that the CLI must judge: SIGKILL without a private pid namespace, --all, a stale start time, no fast record', async () => {
  const init = liveInit();
  writeState('shared', init.pid, init.start, { pidns: 'shared' });
  assert.is(launcher(['--root', root, 'kill', 'shared', '9']).code, 127, 'SIGKILL reaches the whole cgroup: the CLI');
  writeState('all', init.pid, init.start);
  assert.is(launcher(['--root', root, 'kill', '--all', 'all', '15']).code, 127);
  writeState('stale', init.pid, String(Number(init.start) + 1));
  assert.is(launcher(['--root', root, 'kill', 'stale', '15']).code, 127, 'pid reused: "not running" is the CLI\'s');
  writeState('nofast2', init.pid, init.start, null);
  assert.is(launcher(['--root', root, 'kill', 'nofast2', '15']).code, 127);
  await settle();
  assert.is(init.exited(), undefined, 'never signalled');
});

/** A stopped container with fake cgroup dirs (parent + leaf) and a state dir holding an extra file. */
function stoppedWithCgroups(id: string, fast: Fast = {}): { parent: string; leaf: string } {
  const child = spawnSync('true');
  const parent = fakeCgroup(`${id}-parent`);
  const leaf = path.join(parent, 'leaf');
  fs.mkdirSync(leaf);
  writeState(id, child.pid!, '1', { procs: leaf, dirs: [['dir', parent], ['leaf', leaf]], ...fast });
  fs.writeFileSync(path.join(root, id, 'exec.fifo'), '');
  return { parent, leaf };
}

test('delete of a stopped container: its cgroups, state dir and lock gone without Node, as the CLI does', () => {
  for (const args of [['delete'], ['delete', '--force'], ['delete', '-f']]) {
    const id = `stopped${args.length}${args[1] ?? ''}`;
    const { parent, leaf } = stoppedWithCgroups(id);
    assert.equal(launcher(['--root', root, '--log', path.join(root, 'log.json'), '--log-format', 'json', ...args, id]), { code: 0, stderr: '' });
    assert.not.ok(fs.existsSync(path.join(root, id)), 'state dir removed');
    assert.not.ok(fs.existsSync(leaf), 'leaf cgroup removed');
    assert.not.ok(fs.existsSync(parent), 'the parent it created removed');
    assert.not.ok(fs.existsSync(path.join(root, `.${id}.lock`)), 'lock released');
  }
  // A shared parent still in use by another container stays, as in the CLI.
  const { parent } = stoppedWithCgroups('sharedparent');
  fs.mkdirSync(path.join(parent, 'other'));
  assert.is(launcher(['--root', root, 'delete', 'sharedparent']).code, 0);
  assert.ok(fs.existsSync(path.join(parent, 'other')));
});

test('delete that the CLI must do: poststop hooks, host extras, the lock held, a leaf that will not go, processes left, a live init', () => {
  const untouched = (id: string, why: string, leaf?: string) => {
    assert.is(launcher(['--root', root, 'delete', id]).code, 127, why);
    assert.ok(fs.existsSync(path.join(root, id, 'state.json')), `${why}: state kept`);
    if (leaf) assert.ok(fs.existsSync(leaf), `${why}: cgroup kept`);
  };
  let c = stoppedWithCgroups('hooks', { poststop: 1 });
  untouched('hooks', 'poststop hooks', c.leaf);
  c = stoppedWithCgroups('extras');
  fs.writeFileSync(path.join(root, 'extras', 'host-extras.json'), '{}');
  untouched('extras', 'host extras', c.leaf);
  c = stoppedWithCgroups('locked');
  fs.writeFileSync(path.join(root, '.locked.lock'), `${process.pid} ${selfStart}`);
  untouched('locked', 'lock held', c.leaf);
  assert.is(fs.readFileSync(path.join(root, '.locked.lock'), 'utf8'), `${process.pid} ${selfStart}`, 'the holder\'s lock kept');
  c = stoppedWithCgroups('subcgroup');
  fs.mkdirSync(path.join(c.leaf, 'sub'));
  untouched('subcgroup', 'a sub-cgroup', c.leaf);
  assert.not.ok(fs.existsSync(path.join(root, '.subcgroup.lock')), 'lock released on the way out');
  c = stoppedWithCgroups('procsleft');
  fs.writeFileSync(path.join(c.leaf, 'cgroup.procs'), `${process.pid}\n`);
  untouched('procsleft', 'processes left in the cgroup', c.leaf);
  const init = liveInit();
  writeState('alive', init.pid, init.start);
  untouched('alive', 'a live init');
  writeState('statedir', spawnSync('true').pid!, '1');
  fs.mkdirSync(path.join(root, 'statedir', 'sub'));
  untouched('statedir', 'a directory in the state dir');
});

test.run();
