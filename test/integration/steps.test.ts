/** Step timing: with --debug, one line per step of create/start/exec/delete with its duration; none without. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Sandbox } from '../helpers/tsrun';

const sb = new Sandbox('tsrun-steps-');
test.after(() => sb.cleanup());

const CREATE_STEPS = ['config-loaded', 'validated', 'locked', 'state-dir', 'provisional', 'cgroup-made', 'spawned', 'plan-built', 'plan-sent', 'ready', 'state-written', 'committed'];

function steps(stderr: string, command: string): string[] {
  const out: string[] = [];
  for (const m of stderr.matchAll(new RegExp(`msg="${command}: (.+?) took ([0-9.]+) ms"`, 'g'))) out.push(m[1]);
  return out;
}

test('--debug: create, start, exec and delete log each step with its duration, in order', () => {
  const bundle = sb.bundle({ args: ['sleep', '100'] });
  const id = sb.id('steps');
  const c = sb.tsrun(['create', '--bundle', bundle, id], { globals: ['--debug'] });
  assert.is(c.status, 0, c.stderr);
  const seen = steps(c.stderr, 'create');
  let at = -1;
  for (const s of CREATE_STEPS) {
    const i = seen.indexOf(s);
    assert.ok(i > at, `create step ${s} logged after the previous ones: ${JSON.stringify(seen)}`);
    at = i;
  }
  const s = sb.tsrun(['start', id], { globals: ['--debug'] });
  assert.is(s.status, 0, s.stderr);
  assert.equal(steps(s.stderr, 'start'), ['locked', 'state-read', 'released']);
  const e = sb.tsrun(['exec', id, 'true'], { globals: ['--debug'] });
  assert.is(e.status, 0, e.stderr);
  assert.is(steps(e.stderr, 'exec').length, 3, e.stderr);
  const d = sb.tsrun(['delete', '--force', id], { globals: ['--debug'] });
  assert.is(d.status, 0, d.stderr);
  assert.equal(steps(d.stderr, 'delete'), ['locked', 'running: processes gone', 'cgroups and state removed']);
});

test("--debug also names runc's stages (runc's debug.bats and exec.bats match them)", () => {
  const bundle = sb.bundle({ args: ['sleep', '100'] });
  const id = sb.id('runcwords');
  const c = sb.tsrun(['create', '--bundle', bundle, id], { globals: ['--debug'] });
  assert.is(c.status, 0, c.stderr);
  for (const w of ['nsexec container setup', 'child process in init()', 'init: closing the pipe to signal completion']) assert.ok(c.stderr.includes(w), `create: ${w}`);
  assert.is(sb.tsrun(['start', id]).status, 0);
  const e = sb.tsrun(['exec', id, 'true'], { globals: ['--debug'] });
  assert.is(e.status, 0, e.stderr);
  for (const w of ['nsexec container setup', 'child process in init()', 'setns_init: about to exec']) assert.ok(e.stderr.includes(w), `exec: ${w}`);
  assert.is(sb.tsrun(['delete', '--force', id]).status, 0);
});

test('without --debug nothing is logged about steps', () => {
  const bundle = sb.bundle({ args: ['true'] });
  const id = sb.id('quiet');
  const r = sb.tsrun(['run', '--bundle', bundle, id]);
  assert.is(r.status, 0, r.stderr);
  assert.not.match(r.stderr, /took [0-9.]+ ms/);
});

test.run();
