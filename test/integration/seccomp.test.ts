/**
 * linux.seccomp in real containers (root), the tsrun-specific parts the
 * conformance cases cannot see: where the helper loads the filter, NOTIFY
 * with the deferred load, agent failures, debug logs of skipped names.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { REPO, Sandbox } from '../helpers/tsrun';
import { startAgent } from '../../conformance/cases/seccomp';

const sb = new Sandbox('tsrun-seccomp-');
const agents: { stop(): void }[] = [];
test.after(() => {
  for (const a of agents) a.stop();
  sb.cleanup();
});

type Profile = Record<string, unknown>;

function bundle(script: string, seccomp: Profile, nnp: boolean): string {
  return sb.bundle({
    args: ['sh', '-c', script],
    edit: (c) => {
      c.linux.seccomp = seccomp;
      c.process.noNewPrivileges = nnp;
      c.root.readonly = false;
    },
  });
}

// The helper's own syscalls after a late load, and the identity's.
const RUNTIME_SYSCALLS = ['rt_sigaction', 'rt_sigprocmask', 'close_range', 'fcntl', 'prctl', 'capset', 'setresuid', 'setresgid', 'setgroups'];

test('no_new_privs: the filter is loaded right before execve, so it may deny the runtime\'s own syscalls', () => {
  const b = bundle('echo started; grep -E "^Seccomp(_filters)?:" /proc/self/status', {
    defaultAction: 'SCMP_ACT_ALLOW',
    syscalls: [{ names: RUNTIME_SYSCALLS, action: 'SCMP_ACT_ERRNO' }],
  }, true);
  const r = sb.tsrun(['run', '--bundle', b, sb.id()]);
  assert.is(r.status, 0, r.stderr);
  assert.match(r.stdout, /started\nSeccomp:\t2\nSeccomp_filters:\t1\n/);
});

test('without no_new_privs the filter is loaded before the identity (runc): denying capset fails create clearly', () => {
  const b = bundle('true', { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['capset'], action: 'SCMP_ACT_ERRNO', errnoRet: 13 }] }, false);
  const id = sb.id();
  const r = sb.tsrun(['create', '--bundle', b, id]);
  assert.is.not(r.status, 0);
  assert.match(r.stderr, /capset.*Permission denied/);
  assert.is.not(sb.tsrun(['state', id]).status, 0, 'nothing is left behind');
});

for (const nnp of [false, true]) {
  test(`a startContainer hook runs under the filter (runc's order, no_new_privs ${nnp}): its mkdir dies with SIGSYS`, () => {
    const b = sb.bundle({
      args: ['touch', '/ran'],
      edit: (c) => {
        c.linux.seccomp = { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_KILL_PROCESS' }] };
        c.process.noNewPrivileges = nnp;
        c.root.readonly = false;
        c.hooks = { startContainer: [{ path: '/bin/mkdir', args: ['mkdir', '/hook-made'] }] };
      },
    });
    const id = sb.id();
    const c = sb.tsrun(['create', '--bundle', b, id]);
    assert.is(c.status, 0, c.stderr);
    const r = sb.tsrun(['start', id]);
    assert.is(r.status, 1, 'start must fail: the hook was killed');
    assert.match(r.stderr, /error running hook: startContainer hook \/bin\/mkdir failed \(killed by signal 31, signal: bad system call\)/);
    assert.not.ok(fs.existsSync(path.join(b, 'rootfs/hook-made')), 'the hook\'s mkdir ran without the filter');
    assert.not.ok(fs.existsSync(path.join(b, 'rootfs/ran')));
    sb.tsrun(['delete', '--force', id]);
  });
}

for (const nnp of [false, true]) {
  test(`NOTIFY (${nnp ? 'deferred to execve' : 'loaded before identity'}): the agent gets fd + state and lets mkdir continue`, () => {
    const agent = startAgent(path.join(sb.dir, `agent-${nnp}`), 0);
    agents.push(agent);
    const b = bundle('mkdir /tmp/made && echo made', {
      defaultAction: 'SCMP_ACT_ALLOW',
      listenerPath: agent.socket,
      listenerMetadata: 'it',
      flags: ['SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV'],
      syscalls: [{ names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_NOTIFY' }],
    }, nnp);
    const id = sb.id();
    const r = sb.tsrun(['run', '--bundle', b, id]);
    assert.is(r.status, 0, r.stderr);
    assert.is(r.stdout, 'made\n');
    const st = JSON.parse(fs.readFileSync(path.join(agent.out, 'state-0.json'), 'utf8'));
    assert.is(st.metadata, 'it');
    assert.is(st.state.id, id);
    assert.is(st.state.status, 'creating');
    assert.match(fs.readFileSync(path.join(agent.out, 'log'), 'utf8'), /^(83|258)$/m);
    agent.stop();
  });
}

test('NOTIFY with no agent listening: create fails naming the socket, nothing is left', () => {
  const sock = path.join(sb.dir, 'nobody.sock');
  const b = bundle('true', { defaultAction: 'SCMP_ACT_ALLOW', listenerPath: sock, syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_NOTIFY' }] }, true);
  const id = sb.id();
  const r = sb.tsrun(['create', '--bundle', b, id]);
  assert.is.not(r.status, 0);
  assert.match(r.stderr, /failed to connect with seccomp agent specified in the seccomp profile: connect to .*nobody\.sock/);
  assert.is.not(sb.tsrun(['state', id]).status, 0);
});

test('unknown syscall names are skipped with a debug line; compile time is logged', () => {
  const b = bundle('mkdir /tmp/x 2>&1; true', {
    defaultAction: 'SCMP_ACT_ALLOW',
    syscalls: [{ names: ['no_such_syscall_tsrun', 'mkdir', 'mkdirat'], action: 'SCMP_ACT_ERRNO', errnoRet: 13 }],
  }, true);
  const r = sb.tsrun(['run', '--bundle', b, sb.id()], { globals: ['--debug'] });
  assert.is(r.status, 0, r.stderr);
  assert.match(r.stdout, /Permission denied/);
  assert.match(r.stderr, /seccomp: ignoring unknown syscall \\?"no_such_syscall_tsrun\\?"/);
  assert.match(r.stderr, /seccomp: \d+ BPF instructions compiled in [\d.]+ ms/);
});

for (const nnp of [false, true]) {
  test(`exec applies the container's profile (no_new_privs ${nnp})`, () => {
    const b = bundle('sleep 30', { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_ERRNO', errnoRet: 13 }] }, nnp);
    const id = sb.id();
    assert.is(sb.tsrun(['run', '-d', '--bundle', b, id]).status, 0);
    const r = sb.tsrun(['exec', id, 'sh', '-c', 'mkdir /tmp/e 2>&1; grep -E "^Seccomp:" /proc/self/status']);
    assert.match(r.stdout, /Permission denied/, r.stderr);
    assert.match(r.stdout, /Seccomp:\t2/);
    sb.tsrun(['delete', '--force', id]);
  });
}

// x86_64 numbers: far above any syscall a profile can name, kexec_load (not in Docker's allow-list), clone3 (ERRNO(ENOSYS) rule).
const PROBE = path.join(REPO, 'build/Release/tsrun-syscall-probe');
const PROBE_NRS = ['1000', '246', '435', '39'];
const PROBE_WANT = ['1000 38', '246 1', '435 38', '39 0'];

function probeBundle(nnp: boolean): string {
  const b = sb.bundle({
    args: ['/probe', ...PROBE_NRS],
    edit: (c) => {
      c.linux.seccomp = JSON.parse(fs.readFileSync(path.join(REPO, 'test/fixtures/seccomp/docker-default.json'), 'utf8'));
      c.process.noNewPrivileges = nnp;
    },
  });
  fs.copyFileSync(PROBE, path.join(b, 'rootfs/probe'));
  fs.chmodSync(path.join(b, 'rootfs/probe'), 0o755);
  return b;
}

for (const nnp of [false, true]) {
  test(`Docker's default profile: a syscall newer than the profile gets ENOSYS (runc's stub), a denied one still EPERM (no_new_privs ${nnp})`, () => {
    if (process.arch !== 'x64') {
      console.log(`  skipped: the probe's syscall numbers are x86_64's (this is ${process.arch})`);
      return;
    }
    const b = probeBundle(nnp);
    const r = sb.tsrun(['run', '--bundle', b, sb.id()]);
    assert.is(r.status, 0, r.stderr);
    assert.equal(r.stdout.trim().split('\n'), PROBE_WANT);
    // And exec gets the same filter.
    const id = sb.id();
    const eb = probeBundle(nnp);
    const cfg = JSON.parse(fs.readFileSync(path.join(eb, 'config.json'), 'utf8'));
    cfg.process.args = ['sleep', '30'];
    fs.writeFileSync(path.join(eb, 'config.json'), JSON.stringify(cfg));
    assert.is(sb.tsrun(['run', '-d', '--bundle', eb, id]).status, 0);
    const e = sb.tsrun(['exec', id, '/probe', ...PROBE_NRS]);
    assert.is(e.status, 0, e.stderr);
    assert.equal(e.stdout.trim().split('\n'), PROBE_WANT);
    sb.tsrun(['delete', '--force', id]);
    // Side by side with runc, where it is installed: the same answers.
    const runc = ['/usr/bin/runc', '/usr/sbin/runc', '/usr/local/bin/runc', '/usr/local/sbin/runc'].find((p) => fs.existsSync(p));
    if (runc) {
      const rr = sb.exec([runc, '--root', path.join(sb.dir, 'runc-root'), 'run', '--bundle', b, sb.id('runc')]);
      assert.is(rr.status, 0, rr.stderr);
      assert.equal(rr.stdout.trim().split('\n'), PROBE_WANT, 'runc answers the same');
    }
  });
}

test('a bad profile is rejected before anything is created', () => {
  const b = bundle('true', { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_ERRNO', args: [{ index: 9, value: 0, op: 'SCMP_CMP_EQ' }] }] }, true);
  const id = sb.id();
  const r = sb.tsrun(['create', '--bundle', b, id]);
  assert.is(r.status, 1);
  assert.match(r.stderr, /linux\.seccomp\.syscalls\[0\]\.args\[0\]\.index/);
  assert.is.not(sb.tsrun(['state', id]).status, 0);
});

test.run();
