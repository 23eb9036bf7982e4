import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseArgv, UsageError } from '../../src/cli/argv';
import type { Invocation } from '../../src/cli/types';

function cmd(args: string[]): Invocation {
  const r = parseArgv(args);
  if (r.kind !== 'command') throw new Error(`expected a command, got ${r.kind}`);
  return r.invocation;
}

function usageError(args: string[]): string {
  try {
    parseArgv(args);
  } catch (e) {
    assert.instance(e, UsageError);
    return (e as Error).message;
  }
  throw new Error(`no error for ${args.join(' ')}`);
}

/** Splits one line of client-argv.txt: `N caller: RT 'a' 'b' ...` → ['a','b',...]. */
function splitLine(line: string): string[] | null {
  const m = /RT (.*)$/.exec(line);
  if (!m) return null;
  const out: string[] = [];
  const re = /'([^']*)'/g;
  let x: RegExpExecArray | null;
  while ((x = re.exec(m[1]))) {
    out.push(
      x[1]
        .replace(/<CID>|<ID>/g, 'ctr-1')
        .replace(/<RESOURCES_JSON>/g, '-')
        .replace(/<[A-Z_]+>/g, (s) => `/p/${s.slice(1, -1).toLowerCase()}`),
    );
  }
  return out;
}

const ARGV_FILE = '/work/shared/reference/client-argv.txt';
const FALLBACK = [
  `RT '--root' '/run/containerd/runc/cli' '--log' '<CD_STATE>/log.json' '--log-format' 'json' 'kill' '--all' '<ID>' '9'`,
  `RT '--log-format=json' '--log' '<PM_RUNROOT>/oci-log' 'create' '--bundle' '<PM_ROOT>/userdata' '--pid-file' '<PM_RUNROOT>/pidfile' '<CID>'`,
];

test('every argv line real clients send parses', () => {
  const lines = fs.existsSync(ARGV_FILE) ? fs.readFileSync(ARGV_FILE, 'utf8').split('\n').filter((l) => !l.startsWith('#')) : FALLBACK;
  let n = 0;
  for (const line of lines) {
    const args = splitLine(line);
    if (!args || args.length === 0) continue;
    n++;
    const inv = cmd(args);
    const cmdIndex = args.findIndex((a) => ['create', 'start', 'kill', 'delete', 'exec', 'pause', 'resume', 'ps', 'update', 'state'].includes(a));
    assert.is(inv.command, args[cmdIndex], line);
    assert.is(inv.positionals[0], 'ctr-1', line);
    if (inv.command === 'kill') assert.ok(['9', '15'].includes(inv.positionals[1]), line);
    else assert.is(inv.positionals.length, 1, line);
    if (args.includes('--log-format=json') || args.includes('json')) assert.is(inv.globals.logFormat, 'json', line);
    if (args.includes('--root')) assert.is(inv.globals.root, '/run/containerd/runc/cli');
    if (args.includes('--log')) assert.ok(inv.globals.log && inv.globals.log.endsWith('log') || inv.globals.log!.endsWith('.json'), line);
    const pf = args.indexOf('--pid-file');
    if (pf > cmdIndex) assert.is(inv.flags.pidFile, args[pf + 1], line);
    const b = args.indexOf('--bundle');
    if (b > 0) assert.is(inv.flags.bundle, args[b + 1], line);
    if (args.includes('--force')) assert.is(inv.flags.force, true, line);
    if (args.includes('--all')) assert.is(inv.flags.all, true, line);
    if (args.includes('--detach')) assert.is(inv.flags.detach, true, line);
    if (args.includes('--tty')) assert.is(inv.flags.tty, true, line);
    const cs = args.indexOf('--console-socket');
    if (cs > 0) assert.is(inv.flags.consoleSocket, args[cs + 1], line);
    const p = args.indexOf('--process');
    if (p > 0) assert.is(inv.flags.process, args[p + 1], line);
    if (inv.command === 'update') assert.is(inv.flags.resources, '-');
    if (inv.command === 'ps') assert.is(inv.flags.format, 'json');
  }
  assert.ok(n >= 2, `parsed ${n} lines`);
});

test('containerd create argv in detail', () => {
  const inv = cmd(['--root', '/run/containerd/runc/k8s.io', '--log', '/s/log.json', '--log-format', 'json', '--systemd-cgroup', '--rootless=false', 'create', '--bundle', '/s/b', '--pid-file', '/s/init.pid', '--no-pivot', '--no-new-keyring', '--preserve-fds', '2', 'abc']);
  assert.equal(inv.globals, { root: '/run/containerd/runc/k8s.io', log: '/s/log.json', logFormat: 'json', debug: false, systemdCgroup: true, rootless: 'false' });
  assert.is(inv.command, 'create');
  assert.equal(inv.positionals, ['abc']);
  assert.is(inv.flags.bundle, '/s/b');
  assert.is(inv.flags.pidFile, '/s/init.pid');
  assert.is(inv.flags.noPivot, true);
  assert.is(inv.flags.noNewKeyring, true);
  assert.is(inv.flags.preserveFds, 2);
  assert.is(inv.flags.noSubreaper, false);
  assert.is(inv.flags.consoleSocket, undefined);
});

test('defaults', () => {
  const inv = cmd(['create', 'x']);
  assert.is(inv.flags.bundle, '.');
  assert.is(inv.flags.preserveFds, 0);
  assert.is(inv.globals.logFormat, 'text');
  assert.is(inv.globals.rootless, 'auto');
  assert.is(inv.globals.root, process.getuid!() === 0 ? '/run/tsrun' : inv.globals.root);
  assert.is(cmd(['list']).flags.format, 'table');
});

test('--x=v, -x v, single-dash long names, short aliases', () => {
  assert.is(cmd(['create', '--bundle=/b', 'x']).flags.bundle, '/b');
  assert.is(cmd(['create', '-b', '/b', 'x']).flags.bundle, '/b');
  assert.is(cmd(['create', '-b=/b', 'x']).flags.bundle, '/b');
  assert.is(cmd(['create', '-bundle', '/b', 'x']).flags.bundle, '/b');
  assert.is(cmd(['run', '-bundle=/b', '-no-subreaper', '-d', 'x']).flags.noSubreaper, true);
  assert.is(cmd(['delete', '-force', 'x']).flags.force, true);
  assert.is(cmd(['delete', '-f', 'x']).flags.force, true);
  assert.is(cmd(['delete', '--f', 'x']).flags.force, true);
  assert.is(cmd(['-root', '/r', 'state', 'x']).globals.root, '/r');
  assert.is(cmd(['--root=/r', 'state', 'x']).globals.root, '/r');
  assert.is(cmd(['--log-format=json', 'state', 'x']).globals.logFormat, 'json');
  assert.is(cmd(['--debug', 'state', 'x']).globals.debug, true);
  assert.is(cmd(['--cgroup-manager', 'disabled', 'state', 'x']).globals.cgroupManager, 'disabled');
  assert.is(cmd(['--log-level=warning', 'state', 'x']).globals.logLevel, 'warn');
  assert.is(cmd(['list', '-q']).flags.quiet, true);
  assert.is(cmd(['list', '-f', 'json']).flags.format, 'json');
  assert.is(cmd(['kill', '-a', 'x', 'KILL']).flags.all, true);
  assert.is(cmd(['update', '--cpu-quota', '-1', 'x']).flags.cpuQuota, '-1');
  assert.is(cmd(['--root', 'rel', 'state', 'x']).globals.root, path.resolve('rel'));
});

test('boolean value forms', () => {
  assert.is(cmd(['run', '--detach=true', 'x']).flags.detach, true);
  assert.is(cmd(['run', '--detach=false', 'x']).flags.detach, false);
  assert.is(cmd(['delete', '-f=1', 'x']).flags.force, true);
  assert.is(cmd(['delete', '--force=F', 'x']).flags.force, false);
  // A boolean never takes the next argument: "true" is a positional.
  assert.equal(cmd(['kill', '--all', 'true']).positionals, ['true']);
  assert.is(cmd(['spec', '--rootless']).flags.rootless, true);
  assert.match(usageError(['delete', '--force=yes', 'x']), 'invalid boolean value "yes" for -force');
});

test('flags after positionals (urfave reordering) and --', () => {
  const d = cmd(['delete', 'x', '--force']);
  assert.is(d.flags.force, true);
  assert.equal(d.positionals, ['x']);
  assert.equal(cmd(['kill', 'x', '9']).positionals, ['x', '9']);
  assert.equal(cmd(['kill', 'x', 'SIGKILL', '--all']).positionals, ['x', 'SIGKILL']);
  assert.equal(cmd(['delete', '--force', '--', '-x']).positionals, ['-x']);
  assert.equal(cmd(['--', 'state', 'x']).positionals, ['x']);
  assert.equal(cmd(['state', '-', ]).positionals, ['-']);
});

test('exec and ps stop at the first positional', () => {
  const e = cmd(['exec', '-t', '--env', 'A=1', '-e', 'B=2', 'x', 'ls', '-la', '--color']);
  assert.equal(e.positionals, ['x', 'ls', '-la', '--color']);
  assert.equal(e.flags.env, ['A=1', 'B=2']);
  assert.is(e.flags.tty, true);
  assert.equal(cmd(['ps', 'x', '-ef']).positionals, ['x', '-ef']);
  assert.is(cmd(['ps', '--format', 'json', 'x']).flags.format, 'json');
});

test('bad flags, values, arity, commands', () => {
  assert.is(usageError(['state', '--bogus', 'x']), 'flag provided but not defined: -bogus');
  assert.is(usageError(['state', '-x', 'x']), 'flag provided but not defined: -x');
  assert.is(usageError(['--bogus', 'state', 'x']), 'flag provided but not defined: -bogus');
  assert.is(usageError(['delete', 'x', '--bogus=1']), 'flag provided but not defined: -bogus');
  assert.is(usageError(['create', '--pid-file']), 'flag needs an argument: -pid-file');
  assert.match(usageError(['create', '--preserve-fds', 'abc', 'x']), 'invalid value "abc" for flag -preserve-fds');
  assert.match(usageError(['--log-format', 'xml', 'state', 'x']), 'invalid value "xml" for flag -log-format');
  assert.match(usageError(['--rootless=maybe', 'state', 'x']), 'invalid value "maybe"');
  assert.is(usageError(['state']), 'tsrun: "state" requires exactly 1 argument(s)');
  assert.is(usageError(['state', 'a', 'b']), 'tsrun: "state" requires exactly 1 argument(s)');
  assert.is(usageError(['kill', 'a', '9', 'x']), 'tsrun: "kill" requires a maximum of 2 argument(s)');
  assert.is(usageError(['kill']), 'tsrun: "kill" requires a minimum of 1 argument(s)');
  assert.is(usageError(['list', 'x']), 'tsrun: "list" requires exactly 0 argument(s)');
  assert.match(usageError(['frobnicate', 'x']), 'unknown command "frobnicate"');
  assert.match(usageError(['---x', 'state']), 'bad flag syntax');
  // The usage error still carries the log settings, so it can be logged as JSON.
  try {
    parseArgv(['--log', '/tmp/l.json', '--log-format=json', 'state', '--nope', 'x']);
    assert.unreachable();
  } catch (e) {
    assert.equal((e as UsageError).globals.log, '/tmp/l.json');
    assert.equal((e as UsageError).globals.logFormat, 'json');
  }
});

test('version and help', () => {
  assert.is(parseArgv(['--version']).kind, 'version');
  assert.is(parseArgv(['-v']).kind, 'version');
  assert.is(parseArgv([]).kind, 'help');
  assert.is(parseArgv(['--help']).kind, 'help');
  assert.is(parseArgv(['-h']).kind, 'help');
  const h = parseArgv(['help', 'kill']);
  assert.ok(h.kind === 'help' && h.command === 'kill');
  const c = parseArgv(['delete', '--help']);
  assert.ok(c.kind === 'help' && c.command === 'delete');
  const d = parseArgv(['state', '-h']);
  assert.ok(d.kind === 'help' && d.command === 'state');
  assert.match(usageError(['help', 'nope']), "no help topic for 'nope'");
});

test.run();
