/**
 * addon/launcher/fastpath.c: `delete --force` of a missing container and
 * `kill --all` of a container whose init is gone are answered by the launcher
 * without starting Node (engines send both at the end of every stop), and
 * everything else still reaches the CLI. "Reaches the CLI" is observed with no
 * node on PATH: the launcher then fails with exit 127.
 */
import { spawnSync } from 'node:child_process';
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

/** A state record as tsrun writes it (its first fields, in its order). */
function writeState(id: string, pid: number, initStartTime: string): void {
  fs.mkdirSync(path.join(root, id), { recursive: true });
  const rec = { ociVersion: '1.3.0', id, pid, initStartTime, bundle: '/nonexistent', rootfs: '/nonexistent/rootfs', created: new Date().toISOString(), owner: 'root', annotations: {} };
  fs.writeFileSync(path.join(root, id, 'state.json'), JSON.stringify(rec));
}

test.after(() => fs.rmSync(root, { recursive: true, force: true }));

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

test.run();
