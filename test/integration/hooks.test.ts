/** Hooks on real containers: timing, state on stdin, failures and rollback, timeouts, startContainer failure. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Sandbox } from '../helpers/tsrun';

const sb = new Sandbox('tsrun-hooks-');
test.after(() => sb.cleanup());

/** A host hook appending "<stage> <stdin>" to the log. */
const logHook = (log: string, stage: string) => ({ path: '/bin/sh', args: ['sh', '-c', `{ printf '%s ' ${stage}; cat; echo; } >> ${log}`] });
const stages = (log: string) => (fs.existsSync(log) ? fs.readFileSync(log, 'utf8').trim().split('\n').filter(Boolean) : []);

test('every kind runs at its point of the lifecycle with the matching status', () => {
  const log = path.join(sb.dir, 'all.log');
  const b = sb.bundle({
    args: ['sh', '-c', 'sleep 0.3'],
    edit: (c) => {
      c.root.readonly = false;
      c.hooks = {
        prestart: [logHook(log, 'prestart')],
        createRuntime: [logHook(log, 'createRuntime')],
        createContainer: [logHook(log, 'createContainer')],
        startContainer: [{ path: '/bin/sh', args: ['sh', '-c', 'cat > /startContainer.json'] }],
        poststart: [logHook(log, 'poststart')],
        poststop: [logHook(log, 'poststop')],
      };
    },
  });
  const id = sb.id();
  assert.is(sb.tsrun(['create', '--bundle', b, id]).status, 0);
  const pid = sb.state(id).pid;
  let lines = stages(log);
  assert.equal(lines.map((l) => l.split(' ')[0]), ['prestart', 'createRuntime', 'createContainer']);
  const st = lines.map((l) => JSON.parse(l.slice(l.indexOf(' ') + 1)));
  assert.equal(st.map((s) => s.status), ['creating', 'creating', 'creating']);
  assert.is(st[1].pid, pid, 'runtime namespace: host pid');
  assert.is(st[2].pid, 1, 'container namespace: pid as the container sees it');
  assert.is(sb.tsrun(['start', id]).status, 0);
  const sc = JSON.parse(fs.readFileSync(path.join(b, 'rootfs/startContainer.json'), 'utf8'));
  assert.is(sc.status, 'created');
  lines = stages(log);
  assert.is(lines[3].split(' ')[0], 'poststart');
  assert.is(JSON.parse(lines[3].slice(10)).status, 'running');
  sb.waitStatus(id, 'stopped');
  assert.is(sb.tsrun(['delete', id]).status, 0);
  lines = stages(log);
  assert.is(lines[4].split(' ')[0], 'poststop');
  assert.is(JSON.parse(lines[4].slice(9)).status, 'stopped');
});

test('a failing createContainer hook fails create, rolls back, and runs poststop', () => {
  const log = path.join(sb.dir, 'fail.log');
  const b = sb.bundle({
    edit: (c) => {
      c.hooks = { createContainer: [{ path: '/bin/sh', args: ['sh', '-c', 'echo boom >&2; exit 4'] }], poststop: [logHook(log, 'poststop')] };
    },
  });
  const id = sb.id();
  const r = sb.tsrun(['create', '--bundle', b, id]);
  assert.is(r.status, 1);
  assert.match(r.stderr, /error running hook: createContainer hook \/bin\/sh failed \(exit status 4\), output: boom/);
  assert.is(sb.tsrun(['state', id]).status, 1, 'no container left');
  assert.is(stages(log).length, 1, 'poststop ran after the rollback');
});

test('createContainer hooks start in the container\'s root (runc chdirs to the rootfs); startContainer in process.cwd', () => {
  const log = path.join(sb.dir, 'cwd.log');
  const b = sb.bundle({
    args: ['true'],
    edit: (c) => {
      c.process.cwd = '/tmp';
      c.hooks = {
        createContainer: [{ path: '/bin/sh', args: ['sh', '-c', `{ pwd; test -x bin/busybox && echo sees-rootfs; } >> ${log}`] }],
        startContainer: [{ path: '/bin/sh', args: ['sh', '-c', 'pwd > /dev/null; test "$(pwd)" = /tmp'] }],
      };
    },
  });
  const id = sb.id();
  const r = sb.tsrun(['create', '--bundle', b, id]);
  assert.is(r.status, 0, r.stderr);
  assert.equal(stages(log), [fs.realpathSync(path.join(b, 'rootfs')), 'sees-rootfs']);
  assert.is(sb.tsrun(['start', id]).status, 0);
  sb.waitStatus(id, 'stopped');
  assert.is(sb.tsrun(['delete', id]).status, 0);
});

test('a createRuntime hook past its timeout is killed and create fails quickly', () => {
  const b = sb.bundle({ edit: (c) => (c.hooks = { createRuntime: [{ path: '/bin/sleep', args: ['sleep', '30'], timeout: 1 }] }) });
  const id = sb.id();
  const t0 = Date.now();
  const r = sb.tsrun(['create', '--bundle', b, id]);
  assert.is(r.status, 1);
  assert.match(r.stderr, /createRuntime hook #0 \/bin\/sleep: timed out after 1 s/);
  assert.ok(Date.now() - t0 < 10_000);
});

test('a createContainer hook past its timeout is killed by the helper', () => {
  const b = sb.bundle({ edit: (c) => (c.hooks = { createContainer: [{ path: '/bin/sleep', args: ['sleep', '30'], timeout: 1 }] }) });
  const r = sb.tsrun(['create', '--bundle', b, sb.id()]);
  assert.is(r.status, 1);
  assert.match(r.stderr, /createContainer hook \/bin\/sleep: timed out after 1 s/);
});

// 128 KiB of annotations: the state no longer fits a pipe buffer, and the hook never reads it.
const bigAnnotations = () => ({ 'tsrun.test/big': 'x'.repeat(128 * 1024) });

for (const stage of ['createRuntime', 'createContainer'] as const) {
  test(`a ${stage} hook that never reads a state larger than a pipe is still killed at its timeout`, () => {
    const b = sb.bundle({
      edit: (c) => {
        c.annotations = bigAnnotations();
        c.hooks = { [stage]: [{ path: '/bin/sleep', args: ['sleep', '30'], timeout: 1 }] };
      },
    });
    const id = sb.id();
    const t0 = Date.now();
    const r = sb.tsrun(['create', '--bundle', b, id], { timeoutMs: 20_000 });
    assert.is(r.status, 1, `create did not fail in time: ${r.stderr}`);
    assert.match(r.stderr, /timed out after 1 s/);
    assert.ok(Date.now() - t0 < 10_000, `took ${Date.now() - t0} ms`);
    assert.is(sb.tsrun(['state', id]).status, 1, 'no container left');
  });
}

test('a createContainer hook gets all of a state larger than a pipe', () => {
  const out = path.join(sb.dir, 'big-state.json');
  const b = sb.bundle({
    edit: (c) => {
      c.annotations = bigAnnotations();
      c.hooks = { createContainer: [{ path: '/bin/sh', args: ['sh', '-c', `sleep 0.2; cat > ${out}`], timeout: 10 }] };
    },
  });
  const id = sb.id();
  const r = sb.tsrun(['create', '--bundle', b, id]);
  assert.is(r.status, 0, r.stderr);
  assert.is(JSON.parse(fs.readFileSync(out, 'utf8')).annotations['tsrun.test/big'].length, 128 * 1024);
  assert.is(sb.tsrun(['delete', '--force', id]).status, 0);
});

test('a failing startContainer hook fails start; the user process never runs', () => {
  const b = sb.bundle({
    args: ['touch', '/ran'],
    edit: (c) => {
      c.root.readonly = false;
      c.hooks = { startContainer: [{ path: '/bin/false' }] };
    },
  });
  const id = sb.id();
  assert.is(sb.tsrun(['create', '--bundle', b, id]).status, 0);
  const r = sb.tsrun(['start', id]);
  assert.is(r.status, 1);
  assert.match(r.stderr, /error running hook: startContainer hook \/bin\/false failed/);
  assert.not.ok(fs.existsSync(path.join(b, 'rootfs/ran')));
  sb.waitStatus(id, 'stopped');
  assert.is(sb.tsrun(['delete', id]).status, 0);
});

test('a failing poststart hook fails start and stops the container (v1.3.0)', () => {
  const b = sb.bundle({ args: ['sleep', '30'], edit: (c) => (c.hooks = { poststart: [{ path: '/bin/false' }] }) });
  const id = sb.id();
  assert.is(sb.tsrun(['create', '--bundle', b, id]).status, 0);
  const r = sb.tsrun(['start', id]);
  assert.is(r.status, 1);
  assert.match(r.stderr, /error running hook: poststart hook #0 \/bin\/false: exit status 1/);
  sb.waitStatus(id, 'stopped');
  assert.is(sb.tsrun(['delete', id]).status, 0);
});

test('a failing poststop hook is a warning: delete succeeds', () => {
  const b = sb.bundle({ edit: (c) => (c.hooks = { poststop: [{ path: '/bin/false' }] }) });
  const id = sb.id();
  assert.is(sb.tsrun(['create', '--bundle', b, id]).status, 0);
  assert.is(sb.tsrun(['start', id]).status, 0);
  sb.waitStatus(id, 'stopped');
  const r = sb.tsrun(['delete', id]);
  assert.match(r.stderr, /poststop hook #0 \/bin\/false: exit status 1/);
  assert.is(r.status, 0);
  assert.is(sb.tsrun(['state', id]).status, 1);
});

test.run();
