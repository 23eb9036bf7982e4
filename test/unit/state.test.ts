import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ERR_EXIST, ERR_NOT_EXIST, TsrunError } from '../../src/errors';
import { withLock, lockPath } from '../../src/state/lock';
import { containerDir, validateId, MAX_ID_LENGTH } from '../../src/state/paths';
import { parseProcStat, processAlive, readStartTime, waitForExit } from '../../src/state/proc';
import { containerStatus, ociState } from '../../src/state/status';
import { createContainerDir, listContainers, loadState, ownerFromPasswd, removeContainerDir, writeState, type StateRecord } from '../../src/state/store';

const DIST_SRC = path.resolve(__dirname, '../../src');

function tmpRoot(): string {
  return path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'tsrun-state-')), 'root');
}

function record(id: string, pid: number, startTime: string): StateRecord {
  return { ociVersion: '1.3.0', id, pid, initStartTime: startTime, bundle: '/b', rootfs: '/b/rootfs', created: new Date().toISOString(), owner: 'root' };
}

test('validateId', () => {
  for (const ok of ['a', 'abc-123', 'A_b.c+d', '...x', 'x'.repeat(MAX_ID_LENGTH), '-x']) validateId(ok);
  for (const bad of ['', '.', '..', '../x', 'a/b', '/abs', 'a b', 'a\nb', 'ä', 'x'.repeat(MAX_ID_LENGTH + 1), 'a:b']) {
    assert.throws(() => validateId(bad), (e: Error) => e instanceof TsrunError && e.message === 'invalid container ID format', JSON.stringify(bad));
  }
  assert.is(containerDir('/r', 'abc'), '/r/abc');
  assert.throws(() => containerDir('/r', '../etc'));
  assert.throws(() => lockPath('/r', 'a/b'));
});

test('ownerFromPasswd: the name of the first entry with the uid, else the uid', () => {
  const passwd = 'root:x:0:0:root:/root:/bin/bash\n# comment\n:x:7::\ntoor:x:0:0::/:/bin/sh\nalice:x:1000:1000::/home/alice:/bin/sh\n';
  assert.is(ownerFromPasswd(passwd, 0), 'root');
  assert.is(ownerFromPasswd(passwd, 1000), 'alice');
  assert.is(ownerFromPasswd(passwd, 100), '100', 'uid 100 is not uid 1000');
  assert.is(ownerFromPasswd(passwd, 7), '7', 'an entry without a name');
  assert.is(ownerFromPasswd('', 0), '0');
});

test('createContainerDir: modes, exclusive', () => {
  const root = tmpRoot();
  const dir = createContainerDir(root, 'c1');
  assert.is(fs.statSync(root).mode & 0o777, 0o700);
  assert.is(fs.statSync(dir).mode & 0o777, 0o700);
  assert.throws(() => createContainerDir(root, 'c1'), (e: Error) => e.message === ERR_EXIST);
});

test('writeState / loadState / list / remove', () => {
  const root = tmpRoot();
  assert.equal(listContainers(root), []);
  assert.throws(() => loadState(root, 'nope'), (e: Error) => e instanceof TsrunError && e.message === ERR_NOT_EXIST);
  const dir = createContainerDir(root, 'c1');
  // A directory without state.json (a create in progress) is not a container yet.
  assert.throws(() => loadState(root, 'c1'), (e: Error) => e.message === ERR_NOT_EXIST);
  assert.equal(listContainers(root), []);
  const rec = { ...record('c1', 1234, '99'), annotations: { a: 'b' }, cloneParent: true, custom: { x: 1 } };
  writeState(dir, rec);
  assert.is(fs.statSync(path.join(dir, 'state.json')).mode & 0o777, 0o600);
  assert.equal(fs.readdirSync(dir), ['state.json'], 'no temp file left');
  assert.equal(loadState(root, 'c1'), rec);
  // Atomic replacement: a new write replaces the whole file.
  writeState(dir, { ...rec, pid: 5 });
  assert.is(loadState(root, 'c1').pid, 5);
  writeState(createContainerDir(root, 'b0'), record('b0', 1, '1'));
  fs.mkdirSync(path.join(root, '.hidden'));
  fs.writeFileSync(path.join(root, '.x.lock'), '1 1');
  assert.equal(listContainers(root).map((r) => r.id), ['b0', 'c1']);
  fs.writeFileSync(path.join(dir, 'state.json'), '{bad');
  assert.throws(() => loadState(root, 'c1'), /corrupt state file/);
  removeContainerDir(root, 'c1');
  removeContainerDir(root, 'c1');
  assert.not.ok(fs.existsSync(dir));
  assert.equal(listContainers(path.join(root, 'missing')), []);
});

test('atomic writes: a reader never sees a partial file', () => {
  const root = tmpRoot();
  const dir = createContainerDir(root, 'c1');
  const big = { ...record('c1', 1, '1'), config: { blob: 'x'.repeat(200_000) } };
  writeState(dir, big);
  const reader = spawn(process.execPath, ['-e', `
    const fs = require('fs'); let bad = 0; const end = Date.now() + 400;
    while (Date.now() < end) { try { JSON.parse(fs.readFileSync(${JSON.stringify(path.join(dir, 'state.json'))}, 'utf8')); } catch (e) { bad++; } }
    process.stdout.write(String(bad));`]);
  let out = '';
  reader.stdout.on('data', (d) => (out += d));
  const end = Date.now() + 300;
  let i = 0;
  while (Date.now() < end) writeState(dir, { ...big, pid: ++i });
  return new Promise<void>((resolve) => reader.on('close', () => { assert.is(out, '0'); resolve(); }));
});

test('proc: stat parsing with spaces and parentheses in comm', () => {
  const tail = ' '.repeat(0) + Array.from({ length: 40 }, (_, i) => String(i + 4)).join(' ');
  const st = parseProcStat(`123 (a) b (c)) Z ${tail}`)!;
  assert.is(st.state, 'Z');
  assert.is(st.ppid, 4);
  assert.is(st.startTime, '22');
  assert.is(parseProcStat('garbage'), null);
});

test('proc: own process alive, reused pid and dead pid are not', () => {
  const me = readStartTime(process.pid);
  assert.ok(me && /^\d+$/.test(me));
  assert.ok(processAlive(process.pid, me!));
  assert.ok(processAlive(process.pid));
  assert.not.ok(processAlive(process.pid, String(Number(me) + 1)), 'start time differs → pid reused');
  const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']);
  const dead = Number(child.stdout.toString());
  assert.not.ok(processAlive(dead), 'exited child');
  assert.is(readStartTime(dead), null);
  assert.not.ok(processAlive(0));
  assert.not.ok(processAlive(-1));
  assert.ok(waitForExit(dead, undefined, 10));
  assert.not.ok(waitForExit(process.pid, me!, 20));
});

test('status: created / running / stopped', () => {
  const root = tmpRoot();
  const dir = createContainerDir(root, 'c1');
  const rec = record('c1', process.pid, readStartTime(process.pid)!);
  writeState(dir, rec);
  assert.is(containerStatus(root, rec), 'running');
  fs.writeFileSync(path.join(dir, 'exec.fifo'), '');
  assert.is(containerStatus(root, rec), 'created');
  assert.is(ociState(root, rec).pid, process.pid);
  const reused = { ...rec, initStartTime: '1' };
  assert.is(containerStatus(root, reused), 'stopped');
  assert.is(containerStatus(root, { ...rec, pid: 0 }), 'stopped');
  const s = ociState(root, reused);
  assert.equal(Object.keys(s), ['ociVersion', 'id', 'pid', 'status', 'bundle', 'rootfs', 'created', 'owner']);
  assert.is(s.pid, 0);
  assert.equal(ociState(root, { ...rec, annotations: { k: 'v' } }).annotations, { k: 'v' });
});

test('status: a provisional record is "creating" while its creator lives, "stopped" once it died (pid 0)', () => {
  const root = tmpRoot();
  const dir = createContainerDir(root, 'c2');
  const me = { pid: process.pid, startTime: readStartTime(process.pid)! };
  const rec: StateRecord = { ...record('c2', 0, ''), creating: me };
  writeState(dir, rec);
  assert.is(containerStatus(root, rec), 'creating');
  assert.is(ociState(root, rec).status, 'creating');
  // The init is alive, its creator is not: still not a container anyone may use.
  const dead = { ...rec, pid: process.pid, initStartTime: me.startTime, creating: { pid: me.pid, startTime: '1' } };
  assert.is(containerStatus(root, dead), 'stopped');
  assert.is(ociState(root, dead).pid, 0);
  assert.equal(listContainers(root).map((r) => r.id), ['c2']);
});

test('lock: re-entrant, released, stale owner taken over, timeout', () => {
  const root = tmpRoot();
  const file = lockPath(root, 'c1');
  const r = withLock(root, 'c1', () => {
    assert.ok(fs.existsSync(file));
    assert.match(fs.readFileSync(file, 'utf8'), new RegExp(`^${process.pid} \\d+$`));
    return withLock(root, 'c1', () => 42);
  });
  assert.is(r, 42);
  assert.not.ok(fs.existsSync(file));
  assert.throws(() => withLock(root, 'c1', () => { throw new Error('boom'); }), /boom/);
  assert.not.ok(fs.existsSync(file), 'released after a throw');
  // Stale: a dead pid, and a live pid whose start time does not match.
  fs.writeFileSync(file, '999999999 1');
  assert.is(withLock(root, 'c1', () => 1), 1);
  fs.writeFileSync(file, `${process.ppid} 1`);
  assert.is(withLock(root, 'c1', () => 2), 2);
  // Held by a live process (our parent, with its real start time): times out.
  fs.writeFileSync(file, `${process.ppid} ${readStartTime(process.ppid)}`);
  const t0 = Date.now();
  assert.throws(() => withLock(root, 'c1', () => 3, { timeoutMs: 150 }), /timed out waiting for the lock on container c1/);
  assert.ok(Date.now() - t0 >= 150);
  // Our own pid and start time, not held by this image: left by an earlier image of this process
  // (a re-exec keeps both), so it is taken at once.
  fs.writeFileSync(file, `${process.pid} ${readStartTime(process.pid)}`);
  assert.is(withLock(root, 'c1', () => 4, { timeoutMs: 150 }), 4);
  assert.not.ok(fs.existsSync(file));
});

test('lock: async functions keep the lock until they settle', async () => {
  const root = tmpRoot();
  const file = lockPath(root, 'c1');
  const p = withLock(root, 'c1', async () => {
    await new Promise((r) => setTimeout(r, 20));
    assert.ok(fs.existsSync(file));
    return 7;
  });
  assert.ok(fs.existsSync(file));
  assert.is(await p, 7);
  assert.not.ok(fs.existsSync(file));
});

function runChildren(n: number, script: string): Promise<string[]> {
  return Promise.all(
    Array.from({ length: n }, () =>
      new Promise<string>((resolve) => {
        const c = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
        let out = '';
        c.stdout.on('data', (d) => (out += d));
        c.on('close', () => resolve(out.trim()));
      }),
    ),
  );
}

test('lock + create: concurrent creates of one id, exactly one wins', async () => {
  const root = tmpRoot();
  const script = `
    const { withLock } = require(${JSON.stringify(path.join(DIST_SRC, 'state/lock.js'))});
    const s = require(${JSON.stringify(path.join(DIST_SRC, 'state/store.js'))});
    const root = ${JSON.stringify(root)};
    try {
      withLock(root, 'race', () => {
        const dir = s.createContainerDir(root, 'race');
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 30);
        s.writeState(dir, { ociVersion: '1.3.0', id: 'race', pid: process.pid, initStartTime: '', bundle: '/', rootfs: '/', created: '', owner: '' });
      });
      process.stdout.write('won ' + process.pid);
    } catch (e) { process.stdout.write('lost: ' + e.message); }`;
  const outs = await runChildren(6, script);
  const won = outs.filter((o) => o.startsWith('won'));
  assert.is(won.length, 1, outs.join('\n'));
  for (const o of outs.filter((o) => !o.startsWith('won'))) assert.is(o, `lost: ${ERR_EXIST}`);
  assert.is(String(loadState(root, 'race').pid), won[0].split(' ')[1]);
  assert.not.ok(fs.existsSync(lockPath(root, 'race')));
});

test('lock: mutual exclusion across processes (no lost updates), with a stale lock to take over', async () => {
  const root = tmpRoot();
  fs.mkdirSync(root, { recursive: true });
  const counter = path.join(root, 'counter');
  fs.writeFileSync(counter, '0');
  fs.writeFileSync(lockPath(root, 'm'), '999999999 5'); // a dead owner
  const script = `
    const fs = require('fs');
    const { withLock } = require(${JSON.stringify(path.join(DIST_SRC, 'state/lock.js'))});
    for (let i = 0; i < 10; i++) withLock(${JSON.stringify(root)}, 'm', () => {
      const n = Number(fs.readFileSync(${JSON.stringify(counter)}, 'utf8'));
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1);
      fs.writeFileSync(${JSON.stringify(counter)}, String(n + 1));
    });
    process.stdout.write('ok');`;
  const outs = await runChildren(5, script);
  assert.equal(outs, ['ok', 'ok', 'ok', 'ok', 'ok']);
  assert.is(fs.readFileSync(counter, 'utf8'), '50');
  assert.not.ok(fs.existsSync(lockPath(root, 'm')));
});

test.run();
