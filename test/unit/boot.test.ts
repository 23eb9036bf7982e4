/**
 * The per-command bundles (scripts/bundle.mjs) and their loader
 * (src/cli/boot.ts): every command has a bundle, bundles hold no relative
 * require left unresolved, and bin/tsrun behaves the same with and without
 * them, with a missing, a corrupt and a good code cache.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';

const REPO = path.resolve(__dirname, '../../..');
const BIN = path.join(REPO, 'bin/tsrun');
const BUNDLES = path.join(REPO, 'dist/bundle');

function tsrun(args: string[], env: Record<string, string> = {}) {
  const e: NodeJS.ProcessEnv = { ...process.env, ...env };
  const r = spawnSync(BIN, args, { encoding: 'utf8', env: e });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr.replace(/time="[^"]*"/g, 'time=T') };
}

test('bin/tsrun: the static launcher runs the CLI without NODE_OPTIONS and NODE_EXTRA_CA_CERTS', () => {
  assert.is(fs.realpathSync(BIN), path.join(REPO, 'build/Release/tsrun'));
  // Either would break or slow Node down if it reached it.
  const r = tsrun(['--version'], { NODE_OPTIONS: '--require /nonexistent-tsrun-preload', NODE_EXTRA_CA_CERTS: '/nonexistent-tsrun-ca.pem' });
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stdout, /^tsrun version /);
  assert.is(r.stderr, '');
});

test('bin/tsrun: start, state, kill and delete run with the fixed hash seed, every other command without', () => {
  // A stand-in "node" first on PATH shows what the launcher executes.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsrun-fake-node-'));
  try {
    fs.writeFileSync(path.join(dir, 'node'), '#!/bin/sh\nprintf "%s\\n" "$@"\n', { mode: 0o755 });
    const argvOf = (args: string[]): string[] => {
      const r = spawnSync(BIN, args, { encoding: 'utf8', env: { ...process.env, PATH: `${dir}:${process.env.PATH}` } });
      assert.is(r.status, 0, r.stderr);
      return r.stdout.trimEnd().split('\n');
    };
    const boot = `${fs.realpathSync(REPO)}/build/Release/../../dist/src/cli/boot.js`; // as the launcher spells it
    for (const verb of ['start', 'state', 'kill', 'delete']) {
      assert.equal(argvOf([verb, 'c1']), ['--no-rehash-snapshot', boot, verb, 'c1'], verb);
    }
    // c1 exists under the root: a `delete --force` of a missing one is answered without Node (fastpath.c).
    fs.mkdirSync(path.join(dir, 'c1'));
    assert.equal(argvOf(['--root', dir, '--log-format', 'json', 'delete', '--force', 'c1']).slice(0, 2), ['--no-rehash-snapshot', boot]);
    for (const args of [['create', '--bundle', '/b', 'state'], ['run', 'kill'], ['exec', 'c1', 'kill'], ['list'], ['--version'], ['spec']]) {
      assert.equal(argvOf(args), [boot, ...args], args.join(' '));
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('bin/tsrun: every NODE_* and OPENSSL_* variable is dropped, the rest passed on', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsrun-fake-node-'));
  try {
    fs.writeFileSync(path.join(dir, 'node'), '#!/bin/sh\nenv\n', { mode: 0o755 });
    const dropped = ['NODE_OPTIONS', 'NODE_EXTRA_CA_CERTS', 'NODE_PATH', 'NODE_REDIRECT_WARNINGS', 'NODE_REPL_EXTERNAL_MODULE', 'NODE_ICU_DATA',
      'NODE_V8_COVERAGE', 'NODE_CHANNEL_FD', 'NODE_PRESERVE_SYMLINKS', 'NODE_DEBUG', 'NODE_PENDING_DEPRECATION', 'OPENSSL_CONF', 'OPENSSL_MODULES', 'OPENSSL_ENGINES'];
    const env: NodeJS.ProcessEnv = { PATH: `${dir}:/usr/bin:/bin`, UV_THREADPOOL_SIZE: '3', TSRUN_KEEP: 'yes', XNODE_PATH: 'kept' };
    for (const k of dropped) env[k] = '/tmp/tsrun-should-not-load';
    const r = spawnSync(BIN, ['--version'], { encoding: 'utf8', env });
    assert.is(r.status, 0, r.stderr);
    const seen = new Set(r.stdout.split('\n').map((l) => l.slice(0, l.indexOf('='))));
    for (const k of dropped) assert.not.ok(seen.has(k), `${k} reached node`);
    for (const k of ['UV_THREADPOOL_SIZE', 'TSRUN_KEEP', 'XNODE_PATH', 'PATH']) assert.ok(seen.has(k), `${k} was dropped`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('bin/tsrun: empty and relative PATH entries are skipped (no ./node from the caller\'s cwd)', () => {
  const cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'tsrun-cwd-'));
  try {
    const marker = path.join(cwd, 'ran');
    fs.writeFileSync(path.join(cwd, 'node'), `#!/bin/sh\ntouch ${marker}\n`, { mode: 0o755 });
    fs.mkdirSync(path.join(cwd, 'bin'));
    fs.copyFileSync(path.join(cwd, 'node'), path.join(cwd, 'bin/node'));
    fs.chmodSync(path.join(cwd, 'bin/node'), 0o755);
    for (const PATH of ['', ':', '.', 'bin', `:${'/nonexistent-tsrun-dir'}`, './bin:', '/nonexistent-tsrun-dir::.']) {
      const r = spawnSync(BIN, ['--version'], { encoding: 'utf8', cwd, env: { PATH } });
      assert.is(r.status, 127, `PATH=${JSON.stringify(PATH)}: ${r.stderr}`);
      assert.is(r.stderr, 'tsrun: exec node: No such file or directory\n', `PATH=${JSON.stringify(PATH)}`);
      assert.not.ok(fs.existsSync(marker), `PATH=${JSON.stringify(PATH)} ran a node from the cwd`);
    }
  } finally {
    fs.rmSync(cwd, { recursive: true, force: true });
  }
});

test('bin/tsrun: the command guess skips global flags\' values, as the CLI parser does', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsrun-fake-node-'));
  try {
    fs.writeFileSync(path.join(dir, 'node'), '#!/bin/sh\nprintf "%s\\n" "$@"\n', { mode: 0o755 });
    const fixed = (args: string[]): boolean => {
      const r = spawnSync(BIN, args, { encoding: 'utf8', env: { ...process.env, PATH: `${dir}:${process.env.PATH}` } });
      assert.is(r.status, 0, r.stderr);
      return r.stdout.split('\n')[0] === '--no-rehash-snapshot';
    };
    for (const args of [['--root', 'state', 'create', 'x'], ['--log', 'kill', 'run', 'x'], ['-root', 'start', 'exec', 'x', 'ls'],
      ['--log-format', 'json', '--log-level', 'delete', 'update', 'x'], ['--rootless', 'true', '--cgroup-manager', 'start', 'ps', 'x'],
      ['--debug', 'create', 'state'], ['create', '--bundle', 'b', 'state'], ['--', 'run', 'kill']]) {
      assert.is(fixed(args), false, args.join(' '));
    }
    for (const args of [['--root=/r', 'state', 'x'], ['--root', 'create', 'kill', 'x'], ['--debug', '--log', '/l', 'delete', 'x'], ['--', 'start', 'x'],
      ['-log-format=json', 'state', 'x']]) {
      assert.is(fixed(args), true, args.join(' '));
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('bin/tsrun: the launcher\'s value-taking global flags are exactly the CLI table\'s', () => {
  const src = fs.readFileSync(path.join(REPO, 'addon/launcher/tsrun.c'), 'utf8');
  const list = /valued_globals\[\] = \{([^}]*)\}/.exec(src);
  assert.ok(list, 'no valued_globals[] in addon/launcher/tsrun.c');
  const names = [...list[1].matchAll(/"([a-z-]+)"/g)].map((m) => m[1]).sort();
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { GLOBAL_FLAGS } = require(path.join(REPO, 'dist/src/cli/table.js')) as typeof import('../../src/cli/table');
  assert.equal(names, GLOBAL_FLAGS.filter((f) => f.type !== 'boolean').flatMap((f) => [f.name, ...(f.alias ?? [])]).sort());
});

test('bin/tsrun: without a node on PATH, one clear line and exit 127 (execvp\'s convention)', () => {
  const r = spawnSync(BIN, ['--version'], { encoding: 'utf8', env: { PATH: '/nonexistent-tsrun-dir:' } });
  assert.is(r.status, 127);
  assert.is(r.stdout, '');
  assert.is(r.stderr, 'tsrun: exec node: No such file or directory\n');
});

test('bin/tsrun: the launcher knows every command of the CLI table (its pick of the fixed hash seed stops at the first)', () => {
  const src = fs.readFileSync(path.join(REPO, 'addon/launcher/tsrun.c'), 'utf8');
  const list = /verbs\[\] = \{([^}]*)\}/.exec(src);
  assert.ok(list, 'no verbs[] in addon/launcher/tsrun.c');
  const verbs = [...list[1].matchAll(/"([a-z-]+)"/g)].map((m) => m[1]).sort();
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { COMMANDS } = require(path.join(REPO, 'dist/src/cli/table.js')) as typeof import('../../src/cli/table');
  assert.equal(verbs, COMMANDS.map((c) => c.name).sort());
});

test('boot.ts: the bundle guess skips global flags\' values, with the same flag list as the launcher and the table', () => {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { guessCommand, VALUED_GLOBALS } = require(path.join(REPO, 'dist/src/cli/boot.js')) as typeof import('../../src/cli/boot');
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { GLOBAL_FLAGS } = require(path.join(REPO, 'dist/src/cli/table.js')) as typeof import('../../src/cli/table');
  assert.equal([...VALUED_GLOBALS].sort(), GLOBAL_FLAGS.filter((f) => f.type !== 'boolean').map((f) => f.name).sort());
  assert.is(guessCommand(['--root', 'state', 'create', 'x']), 'create');
  assert.is(guessCommand(['--log-format=json', 'kill', 'x']), 'kill');
  assert.is(guessCommand(['--debug', '--log', 'delete', 'run', 'x']), 'run');
  assert.is(guessCommand(['--', 'start', 'x']), 'start');
  assert.is(guessCommand(['--root']), undefined);
});

test('every command module has a bundle, and the CLI core has one', () => {
  assert.ok(fs.existsSync(path.join(BUNDLES, 'src/cli/main.js')));
  for (const f of fs.readdirSync(path.join(REPO, 'dist/src/commands')).filter((n) => n.endsWith('.js'))) {
    assert.ok(fs.existsSync(path.join(BUNDLES, 'src/commands', f)), `no bundle for ${f}`);
  }
});

test('bundles: one table of module functions, every relative require resolved to a key that exists', () => {
  for (const f of ['src/cli/main.js', 'src/commands/create.js', 'src/commands/delete.js']) {
    const text = fs.readFileSync(path.join(BUNDLES, f), 'utf8');
    assert.not.match(text, /\brequire\((['"])\.\.?\//, `${f} has an unresolved relative require`);
    for (const m of text.matchAll(/require\("tsrun:([^"]+)"\)/g)) {
      assert.ok(fs.existsSync(path.join(REPO, 'dist', m[1])), `${f}: ${m[1]} does not exist`);
    }
  }
});

test('generated code is pure ASCII (the loaders read it as latin1)', () => {
  const files = [path.join(REPO, 'dist/src/config/validators.generated.js')];
  const walk = (d: string): void => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory()) walk(path.join(d, e.name));
      else if (e.name.endsWith('.js')) files.push(path.join(d, e.name));
    }
  };
  walk(BUNDLES);
  assert.ok(files.length > 10);
  for (const f of files) assert.not.match(fs.readFileSync(f, 'latin1'), /[^\x00-\x7f]/, `${f} is not ASCII`);
});

test('the same output with and without bundles', () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'tsrun-boot-'));
  try {
    const cases = [
      ['--version'],
      ['--root', root, 'state', 'nope'],
      ['--root', root, 'kill', 'nope', 'KILL'],
      ['--root', root, 'delete', '--force', 'nope'],
      ['--root', root, 'list', '--format', 'json'],
      ['--root', root, 'start', '../bad'],
      ['features'],
      ['kill'],
    ];
    for (const args of cases) {
      const bundled = tsrun(args);
      const plain = tsrun(args, { TSRUN_NO_BUNDLE: '1' });
      assert.equal(bundled, plain, args.join(' '));
    }
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});

test('code cache: written after a successful run, a corrupt one is only ignored (and replaced)', () => {
  const cache = path.join(BUNDLES, 'src/commands/features.js.cache');
  const before = fs.existsSync(cache) ? fs.readFileSync(cache) : undefined;
  try {
    fs.rmSync(cache, { force: true });
    const first = tsrun(['features']);
    assert.is(first.code, 0);
    assert.ok(fs.existsSync(cache), 'no cache written');
    fs.writeFileSync(cache, Buffer.from('not a V8 code cache'));
    const second = tsrun(['features']);
    assert.is(second.code, 0);
    assert.is(second.stdout, first.stdout);
    assert.ok(fs.statSync(cache).size > 100, 'the corrupt cache was not replaced');
    // A failing run writes nothing.
    fs.rmSync(cache, { force: true });
    assert.is(tsrun(['features', 'extra']).code, 1);
    assert.not.ok(fs.existsSync(cache));
  } finally {
    if (before) fs.writeFileSync(cache, before);
  }
});

test.run();
