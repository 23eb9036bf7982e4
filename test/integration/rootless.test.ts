/**
 * Rootless: a real unprivileged user (created here, removed in test.after)
 * runs bin/tsrun with a `spec --rootless` config; state under
 * $XDG_RUNTIME_DIR/tsrun; a single self mapping (written by tsrun itself,
 * setgroups denied) and a /etc/subuid range (newuidmap/newgidmap).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { makeBundle } from '../../src/bundle/busybox';
import { hostTest, unreachableByOthers } from '../helpers/host';
import { REPO, TSRUN, cleanEnv } from '../helpers/tsrun';

/** The unprivileged user must reach bin/tsrun and dist/ (not under a 0700 directory). */
const reachable = (): string | undefined => unreachableByOthers(path.join(REPO, 'dist', 'src', 'cli'));

const USER = `tsrunrl${process.pid % 100000}`;
const SUB = 300000;
let uid = -1;
let gid = -1;
let home = '';

function sh(cmd: string, args: string[]): void {
  execFileSync(cmd, args, { stdio: 'ignore' });
}

function removeSub(file: string): void {
  try {
    const lines = fs.readFileSync(file, 'utf8').split('\n').filter((l) => l && !l.startsWith(`${USER}:`));
    fs.writeFileSync(file, lines.map((l) => `${l}\n`).join(''));
  } catch {
    /* no file */
  }
}

test.before(() => {
  sh('useradd', ['-m', '-s', '/bin/sh', USER]);
  uid = Number(execFileSync('id', ['-u', USER]).toString());
  gid = Number(execFileSync('id', ['-g', USER]).toString());
  home = execFileSync('getent', ['passwd', USER]).toString().split(':')[5];
  fs.appendFileSync('/etc/subuid', `${USER}:${SUB}:65536\n`);
  fs.appendFileSync('/etc/subgid', `${USER}:${SUB}:65536\n`);
});

test.after(() => {
  // Containers a failed test left behind: force-delete them as the user, by id.
  for (const id of ['rl1', 'rl2', 'rl3']) asUser(['delete', '--force', id], home);
  removeSub('/etc/subuid');
  removeSub('/etc/subgid');
  spawnSync('userdel', ['-r', '-f', USER], { stdio: 'ignore' });
});

/** Runs tsrun as the user, with XDG_RUNTIME_DIR in its home; stdio to files so a container never holds our pipes. */
let seq = 0;
function asUser(args: string[], cwd: string): { status: number; stdout: string; stderr: string } {
  const env = { ...cleanEnv(), HOME: home, XDG_RUNTIME_DIR: path.join(home, 'run'), USER };
  const out = path.join(home, `.out.${seq}`);
  const err = path.join(home, `.err.${seq++}`);
  const fo = fs.openSync(out, 'w');
  const fe = fs.openSync(err, 'w');
  let status: number | null;
  try {
    status = spawnSync('setpriv', ['--reuid', String(uid), '--regid', String(gid), '--clear-groups', '--', TSRUN, ...args], {
      cwd, env, stdio: ['ignore', fo, fe], timeout: 30_000,
    }).status;
  } finally {
    fs.closeSync(fo);
    fs.closeSync(fe);
  }
  return { status: status ?? -1, stdout: fs.readFileSync(out, 'utf8'), stderr: fs.readFileSync(err, 'utf8') };
}

function userBundle(name: string, script: string, edit?: (c: Record<string, any>) => void): string {
  const dir = path.join(home, name);
  makeBundle(dir, { args: ['sh', '-c', script] });
  fs.mkdirSync(path.join(home, 'run'), { recursive: true, mode: 0o700 });
  fs.rmSync(path.join(dir, 'config.json'));
  sh('chown', ['-R', `${uid}:${gid}`, home]);
  // The user's own `spec --rootless`, with our args.
  const r = asUser(['spec', '--rootless'], dir);
  assert.is(r.status, 0, r.stderr);
  const c = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8'));
  c.process.args = ['sh', '-c', script];
  c.process.terminal = false;
  edit?.(c);
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(c));
  sh('chown', [`${uid}:${gid}`, path.join(dir, 'config.json')]);
  return dir;
}

hostTest(test, 'spec --rootless maps the caller; run works unprivileged; state lives in $XDG_RUNTIME_DIR/tsrun', reachable, () => {
  const b = userBundle('b1', 'cat /proc/self/uid_map; id -u; hostname; echo x > /dev/null && echo devnull; sleep 0.3');
  const c = JSON.parse(fs.readFileSync(path.join(b, 'config.json'), 'utf8'));
  assert.equal(c.linux.uidMappings, [{ containerID: 0, hostID: uid, size: 1 }]);
  assert.ok(c.linux.namespaces.some((n: any) => n.type === 'user'));
  const cr = asUser(['create', 'rl1'], b);
  assert.is(cr.status, 0, cr.stderr);
  assert.ok(fs.existsSync(path.join(home, 'run/tsrun/rl1/state.json')), 'state under XDG_RUNTIME_DIR');
  const st = asUser(['state', 'rl1'], b);
  assert.is(JSON.parse(st.stdout).status, 'created', st.stderr);
  const d = asUser(['delete', 'rl1'], b);
  assert.is(d.status, 0, d.stderr);
  const r = asUser(['run', 'rl1'], b);
  assert.is(r.status, 0, r.stderr);
  const out = r.stdout.split('\n');
  assert.is(out[0].trim().split(/\s+/).join(' '), `0 ${uid} 1`);
  assert.is(out[1], '0');
  assert.is(out[3], 'devnull');
});

hostTest(test, 'a /etc/subuid range goes through newuidmap/newgidmap', reachable, () => {
  const b = userBundle('b2', 'cat /proc/self/uid_map /proc/self/gid_map', (c) => {
    c.linux.uidMappings = [{ containerID: 0, hostID: uid, size: 1 }, { containerID: 1, hostID: SUB, size: 65536 }];
    c.linux.gidMappings = [{ containerID: 0, hostID: gid, size: 1 }, { containerID: 1, hostID: SUB, size: 65536 }];
  });
  const r = asUser(['run', 'rl2'], b);
  assert.is(r.status, 0, r.stderr);
  const maps = r.stdout.trim().split('\n').map((l) => l.trim().split(/\s+/).join(' '));
  assert.equal(maps, [`0 ${uid} 1`, `1 ${SUB} 65536`, `0 ${gid} 1`, `1 ${SUB} 65536`]);
});

hostTest(test, 'a range the user was not given is refused with a clear error', reachable, () => {
  const b = userBundle('b3', 'true', (c) => {
    c.linux.uidMappings = [{ containerID: 0, hostID: uid, size: 1 }, { containerID: 1, hostID: 50000, size: 10 }];
  });
  const r = asUser(['run', 'rl3'], b);
  assert.is(r.status, 1);
  assert.match(r.stderr, /newuidmap .* failed/);
  assert.is(asUser(['state', 'rl3'], b).status, 1, 'rolled back');
});

test.run();
