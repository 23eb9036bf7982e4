/**
 * --preserve-fds and the caller's fds: the launcher (addon/launcher/tsrun.c)
 * checks fds 3.. before Node opens its own and says so in TSRUN_CALLER_FDS;
 * src/util/caller-fds.ts refuses a preserved fd the caller did not pass.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { CALLER_FDS_ENV, checkCallerFds, parseCallerFds } from '../../src/util/caller-fds';

const REPO = path.resolve(__dirname, '../../..');
const BIN = path.join(REPO, 'bin/tsrun');

test('parse: "<checked> <first closed>", anything else is no record', () => {
  assert.equal(parseCallerFds('3 4'), { checked: 3, firstClosed: 4 });
  assert.equal(parseCallerFds('2 -1'), { checked: 2, firstClosed: -1 });
  for (const bad of [undefined, '', '3', '3 x', '-1 -1', '3  4', '3 4 5', '123456789 1']) assert.is(parseCallerFds(bad), undefined, String(bad));
});

test('check: a gap inside the preserved range is refused with the fd; outside it, or without a record, nothing', () => {
  assert.throws(() => checkCallerFds(3, 3, { checked: 3, firstClosed: 4 }), /--preserve-fds 3: fd 4 is not open/);
  assert.throws(() => checkCallerFds(2, 1, { checked: 2, firstClosed: 3 }), /--preserve-fds 1: fd 3 is not open/); // LISTEN_FDS + 1
  checkCallerFds(1, 1, { checked: 3, firstClosed: 4 }); // fd 4 is beyond what is passed
  checkCallerFds(2, 2, { checked: 2, firstClosed: -1 });
  checkCallerFds(0, 0, { checked: 0, firstClosed: -1 });
  checkCallerFds(5, 5, undefined); // no launcher: the addon's F_GETFD check only
  assert.is(process.env[CALLER_FDS_ENV], undefined, 'removed from the environment when the module loads');
});

test('launcher: records the caller\'s fds for create/run/exec before Node exists, and only the launcher sets the variable', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsrun-fake-node-'));
  try {
    // A stand-in "node" shows what the launcher passes on.
    fs.writeFileSync(path.join(dir, 'node'), `#!/bin/sh\necho "[\${${CALLER_FDS_ENV}-unset}]"\n`, { mode: 0o755 });
    const f = path.join(dir, 'node');
    const run = (shell: string, env: NodeJS.ProcessEnv = {}) => {
      const r = spawnSync('/bin/sh', ['-c', shell], { encoding: 'utf8', env: { PATH: `${dir}:/usr/bin:/bin`, BIN, F: f, ...env } });
      assert.is(r.status, 0, r.stderr);
      return r.stdout.trim();
    };
    assert.is(run('exec 3<"$F" 5<"$F"; exec "$BIN" create --bundle /b --preserve-fds 3 c'), '[3 4]');
    assert.is(run('exec 3<"$F" 4<"$F"; exec "$BIN" --root /r run --preserve-fds=2 c'), '[2 -1]');
    assert.is(run('exec "$BIN" exec -preserve-fds 1 c sh'), '[1 3]');
    assert.is(run('exec 3<"$F"; exec "$BIN" create c'), '[0 -1]');
    // LISTEN_FDS count too when LISTEN_PID is this very process (the launcher, then Node: one pid).
    assert.is(run('exec 3<"$F" 4<"$F"; LISTEN_PID=$$ LISTEN_FDS=2 exec "$BIN" create --preserve-fds 1 c'), '[3 5]');
    assert.is(run('exec 3<"$F" 4<"$F"; LISTEN_PID=1 LISTEN_FDS=2 exec "$BIN" create --preserve-fds 1 c'), '[1 -1]');
    // Other commands get none, and a caller's own value never passes.
    assert.is(run('exec "$BIN" state c', { [CALLER_FDS_ENV]: '9 -1' }), '[unset]');
    assert.is(run('exec "$BIN" create --preserve-fds 1 c', { [CALLER_FDS_ENV]: '9 -1' }), '[1 3]');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
