/** End to end through bin/tsrun, for the commands that need no real container. */
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readStartTime, waitForExit } from '../../src/state/proc';

const REPO = path.resolve(__dirname, '../../..');
const BIN = path.join(REPO, 'bin/tsrun');
const MAIN = path.join(REPO, 'dist/src/cli/main.js');

function tsrun(args: string[], opts: { cwd?: string } = {}) {
  const r = spawnSync(BIN, args, { cwd: opts.cwd, encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'tsrun-cli-'));

test('--version', () => {
  for (const flag of ['--version', '-v']) {
    const r = tsrun([flag]);
    assert.is(r.code, 0);
    assert.is(r.stdout, 'tsrun version 0.1.0\nspec: 1.3.0\n');
    assert.is(r.stderr, '');
  }
});

test('help', () => {
  const r = tsrun(['--help']);
  assert.is(r.code, 0);
  assert.match(r.stdout, 'create');
  assert.match(r.stdout, '--root');
  const d = tsrun(['delete', '--help']);
  assert.is(d.code, 0);
  assert.match(d.stdout, '--force');
});

test('spec: writes config.json, refuses to overwrite, --rootless', () => {
  const dir = tmp();
  let r = tsrun(['spec'], { cwd: dir });
  assert.is(r.code, 0, r.stderr);
  const spec = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8'));
  assert.is(spec.ociVersion, '1.3.0');
  assert.equal(spec.process.args, ['sh']);
  r = tsrun(['spec'], { cwd: dir });
  assert.is(r.code, 1);
  assert.match(r.stderr, 'File config.json exists. Remove it first');
  const d2 = tmp();
  r = tsrun(['spec', '--rootless', '-b', d2]);
  assert.is(r.code, 0, r.stderr);
  const rl = JSON.parse(fs.readFileSync(path.join(d2, 'config.json'), 'utf8'));
  assert.equal(rl.linux.uidMappings, [{ containerID: 0, hostID: process.getuid!(), size: 1 }]);
  r = tsrun(['spec', '--bundle', path.join(d2, 'missing')]);
  assert.is(r.code, 1);
  assert.match(r.stderr, 'no such file or directory');
});

test('missing container: state, kill, delete, start', () => {
  const root = tmp();
  for (const args of [['state', 'nope'], ['kill', 'nope', '9'], ['kill', '--all', 'nope', 'KILL'], ['delete', 'nope'], ['start', 'nope']]) {
    const r = tsrun(['--root', root, ...args]);
    assert.is(r.code, 1, args.join(' '));
    assert.is(r.stdout, '');
    assert.match(r.stderr, /^time="[^"]+" level=error msg="container does not exist"\n$/, args.join(' '));
  }
  for (const args of [['delete', '--force', 'nope'], ['delete', '-force', 'nope'], ['delete', 'nope', '-f']]) {
    const r = tsrun(['--root', root, ...args]);
    assert.is(r.code, 0, args.join(' '));
    assert.is(r.stderr, '');
  }
  const bad = tsrun(['--root', root, 'state', '../etc']);
  assert.is(bad.code, 1);
  assert.match(bad.stderr, 'invalid container ID format');
  assert.equal(fs.readdirSync(root), [], 'nothing created under --root');
});

test('list on an empty and on a missing root', () => {
  const root = tmp();
  for (const r of [root, path.join(root, 'missing')]) {
    assert.is(tsrun(['--root', r, 'list']).stdout, 'ID          PID         STATUS      BUNDLE      CREATED     OWNER\n');
    assert.is(tsrun(['--root', r, 'list', '-q']).stdout, '');
    assert.is(tsrun(['--root', r, 'list', '--format', 'json']).stdout, '[]\n');
  }
});

test('--log FILE --log-format json: a valid JSON error line, message also on stderr', () => {
  const root = tmp();
  const log = path.join(root, 'log.json');
  let r = tsrun(['--root', root, '--log', log, '--log-format', 'json', 'state', 'nope']);
  assert.is(r.code, 1);
  assert.is(r.stderr, 'container does not exist\n');
  r = tsrun(['--root', root, '--log-format=json', '--log', log, 'kill', '--bogus', 'x']);
  assert.is(r.code, 1);
  r = tsrun(['--root', root, '--log', log, '--log-format', 'json', 'frob']);
  assert.is(r.code, 1);
  const lines = fs.readFileSync(log, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  assert.equal(lines.map((l) => [l.level, l.msg]), [
    ['error', 'container does not exist'],
    ['error', 'flag provided but not defined: -bogus'],
    ['error', `unknown command "frob" (see 'tsrun --help')`],
  ]);
  for (const l of lines) assert.match(l.time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
});

test('usage errors and unimplemented commands fail loudly', () => {
  const root = tmp();
  let r = tsrun(['--root', root, 'state']);
  assert.is(r.code, 1);
  assert.match(r.stderr, 'msg="tsrun: \\"state\\" requires exactly 1 argument(s)"');
  r = tsrun(['--root', root, 'nosuchcommand']);
  assert.ok(r.code !== 0);
  assert.match(r.stderr, 'unknown command \\"nosuchcommand\\"');
  for (const c of ['pause', 'resume', 'events', 'update', 'ps', 'exec', 'features']) {
    const f = path.join(REPO, 'dist/src/commands', `${c}.js`);
    if (fs.existsSync(f)) continue; // implemented by now
    r = tsrun(['--root', root, c, ...(c === 'features' ? [] : ['x'])]);
    assert.is(r.code, 1, c);
    assert.match(r.stderr, `command \\"${c}\\" is not implemented`);
  }
});

/** A fake container whose "init" is a sleeping child of ours. */
function fakeContainer(root: string, id: string, created: boolean) {
  const child = spawn('sleep', ['30'], { stdio: 'ignore' });
  let st: string | null = null;
  for (let i = 0; i < 100 && !(st = readStartTime(child.pid!)); i++) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5);
  const dir = path.join(root, id);
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  fs.writeFileSync(path.join(dir, 'state.json'), JSON.stringify({ ociVersion: '1.3.0', id, pid: child.pid, initStartTime: st, bundle: '/b', rootfs: '/b/rootfs', created: '2026-11-25T17:00:00.123Z', owner: 'root', annotations: { a: 'b' } }));
  if (created) fs.writeFileSync(path.join(dir, 'exec.fifo'), '');
  return child;
}

test('state / list / kill / delete of a fake running container', async () => {
  const root = tmp();
  const child = fakeContainer(root, 'c1', false);
  const exited = new Promise<NodeJS.Signals | null>((r) => child.on('exit', (_c, s) => r(s)));
  let r = tsrun(['--root', root, 'state', 'c1']);
  assert.is(r.code, 0, r.stderr);
  const s = JSON.parse(r.stdout);
  assert.equal(s, { ociVersion: '1.3.0', id: 'c1', pid: child.pid, status: 'running', bundle: '/b', rootfs: '/b/rootfs', created: '2026-11-25T17:00:00.123Z', owner: 'root', annotations: { a: 'b' } });
  r = tsrun(['--root', root, 'list']);
  assert.match(r.stdout.split('\n')[1], new RegExp(`^c1 {10}${child.pid} +running {5}/b {10}2026-11-25T17:00:00.123Z {3}root$`));
  assert.equal(JSON.parse(tsrun(['--root', root, 'list', '-f', 'json']).stdout).map((x: { id: string }) => x.id), ['c1']);
  assert.is(tsrun(['--root', root, 'list', '-q']).stdout, 'c1\n');
  r = tsrun(['--root', root, 'delete', 'c1']);
  assert.is(r.code, 1);
  assert.match(r.stderr, 'cannot delete container c1 that is not stopped: running');
  r = tsrun(['--root', root, 'start', 'c1']);
  assert.is(r.code, 1);
  assert.match(r.stderr, 'cannot start an already running container');
  r = tsrun(['--root', root, 'kill', 'c1', 'BOGUS']);
  assert.is(r.code, 1);
  assert.match(r.stderr, 'unknown signal \\"BOGUS\\"');
  r = tsrun(['--root', root, 'kill', 'c1', 'TERM']);
  assert.is(r.code, 0, r.stderr);
  assert.is(await exited, 'SIGTERM');
  r = tsrun(['--root', root, 'state', 'c1']);
  assert.is(JSON.parse(r.stdout).status, 'stopped');
  assert.is(JSON.parse(r.stdout).pid, 0);
  r = tsrun(['--root', root, 'kill', 'c1', '9']);
  assert.is(r.code, 1);
  assert.match(r.stderr, 'container not running');
  assert.is(tsrun(['--root', root, 'kill', '--all', 'c1', '9']).code, 0);
  r = tsrun(['--root', root, 'start', 'c1']);
  assert.match(r.stderr, 'cannot start a container that has stopped');
  r = tsrun(['--root', root, 'delete', 'c1']);
  assert.is(r.code, 0, r.stderr);
  assert.not.ok(fs.existsSync(path.join(root, 'c1')));
});

test('delete of a created container kills it; delete --force of a running one too', async () => {
  const root = tmp();
  const a = fakeContainer(root, 'a', true);
  const b = fakeContainer(root, 'b', false);
  const dead = (c: ReturnType<typeof spawn>) => new Promise<NodeJS.Signals | null>((r) => c.on('exit', (_x, s) => r(s)));
  const da = dead(a);
  const db = dead(b);
  assert.is(JSON.parse(tsrun(['--root', root, 'state', 'a']).stdout).status, 'created');
  // Our children become zombies until we reap them, which `delete` sees as dead.
  let r = tsrun(['--root', root, 'delete', 'a']);
  assert.is(r.code, 0, r.stderr);
  assert.is(await da, 'SIGKILL');
  r = tsrun(['--root', root, 'delete', '--force', 'b']);
  assert.is(r.code, 0, r.stderr);
  assert.is(await db, 'SIGKILL');
  assert.equal(fs.readdirSync(root), []);
  assert.ok(waitForExit(b.pid!, undefined, 1000));
});

test('a successful state does not load pino or yargs', () => {
  const root = tmp();
  fs.mkdirSync(path.join(root, 'x'));
  const probe = `process.argv = [process.argv[0], 'tsrun', '--root', ${JSON.stringify(root)}, '--log', ${JSON.stringify(path.join(root, 'l.json'))}, '--log-format', 'json', 'list'];
    process.on('exit', () => { const m = Object.keys(require.cache).filter((k) => /node_modules\\/(pino|yargs)\\//.test(k)); require('fs').writeSync(2, 'LOADED:' + m.length + '\\n'); });
    require(${JSON.stringify(MAIN)});`;
  const r = spawnSync(process.execPath, ['-e', probe], { encoding: 'utf8' });
  assert.is(r.status, 0, r.stderr);
  assert.match(r.stderr, 'LOADED:0');
});

test.run();
