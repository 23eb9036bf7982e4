/**
 * linux.seccomp (config-linux.md "Seccomp"): the same profile must give the
 * same outcome under every runtime. Each case runs busybox under a profile
 * and checks what the container observed (errno text, exit status, signal).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { host, need } from '../../test/helpers/host';
import { Case, check, Harness, skipUnless, sleepMs } from '../harness';
import { REPO_ROOT } from '../runtimes';

type Profile = Record<string, any>;

/** Docker's default profile (test/fixtures/seccomp/docker-default.json). */
export function dockerDefault(): Profile {
  const p = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'test/fixtures/seccomp/docker-default.json'), 'utf8'));
  delete p._comment;
  return p;
}

const AGENT = path.join(REPO_ROOT, 'build/Release/tsrun-seccomp-agent');

/** Starts the test agent (test/helpers/seccomp-agent.c) answering every notification with `errno` (0 = continue). */
export function startAgent(dir: string, errno: number): { socket: string; out: string; proc: ChildProcess; stop(): void } {
  const out = path.join(dir, 'agent');
  fs.mkdirSync(out, { recursive: true });
  const socket = path.join(out, 'sock');
  const proc = spawn(AGENT, [socket, out, String(errno)], { stdio: 'ignore' });
  const deadline = Date.now() + 5000;
  while (!fs.existsSync(path.join(out, 'ready'))) {
    if (Date.now() > deadline) {
      proc.kill('SIGKILL');
      throw new Error(`seccomp agent ${AGENT} did not start`);
    }
    sleepMs(10);
  }
  return {
    socket,
    out,
    proc,
    stop: () => {
      try {
        proc.kill('SIGKILL');
      } catch {
        /* gone */
      }
    },
  };
}

function probeWith(h: Harness, script: string, seccomp: Profile, nnp = true, edit?: (c: Record<string, any>) => void): string {
  return h.probe(script, (c) => {
    c.linux.seccomp = seccomp;
    c.process.noNewPrivileges = nnp;
    c.root.readonly = false;
    edit?.(c);
  });
}

function has(out: string, text: string, what: string): void {
  check(out.includes(text), `${what}: expected ${JSON.stringify(text)} in ${JSON.stringify(out.slice(0, 400))}`);
}

const allowAllBut = (syscalls: Profile[]): Profile => ({ defaultAction: 'SCMP_ACT_ALLOW', syscalls });

function expectCreateFails(h: Harness, seccomp: Profile): void {
  h.makeBundle({ edit: (c) => void (c.linux.seccomp = seccomp) });
  const r = h.tryCreate();
  check(r.status !== 0 && r.status !== null, `create succeeded with a bad profile (exit ${r.status})`);
  const s = h.run(['state', h.id]);
  check(s.status !== 0, 'the failed container still exists');
}

export const seccompCases: Case[] = [
  {
    name: 'seccomp-docker-default',
    description: "Docker's default profile (SCMP_ACT_ERRNO default, ~360 allowed syscalls) runs a busybox shell; a syscall outside it gets defaultErrnoRet",
    run(h) {
      const p = dockerDefault();
      p.defaultErrnoRet = 38; // ENOSYS: tells the default action from a capability check's EPERM
      const out = probeWith(h, 'echo hi; mkdir -p /tmp/d && echo made; ls / >/dev/null && echo listed; hostname other 2>&1; echo rc=$?', p);
      has(out, 'hi', 'echo');
      has(out, 'made', 'mkdir allowed');
      has(out, 'listed', 'ls');
      has(out, 'Function not implemented', 'sethostname is not in the profile: defaultErrnoRet ENOSYS');
    },
  },
  {
    name: 'seccomp-docker-default-no-nnp',
    description: "Docker's default profile without noNewPrivileges (loaded before the capabilities are dropped)",
    run(h) {
      const out = probeWith(h, 'echo hi; id -u; cat /proc/self/status | grep -E "^Seccomp:"', dockerDefault(), false);
      has(out, 'hi', 'echo');
      has(out, 'Seccomp:\t2', 'filter mode');
    },
  },
  {
    name: 'seccomp-errno',
    description: 'SCMP_ACT_ERRNO with errnoRet: mkdir fails with EACCES, other syscalls are untouched',
    run(h) {
      const p = allowAllBut([{ names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_ERRNO', errnoRet: 13 }]);
      const out = probeWith(h, 'mkdir /tmp/x 2>&1; echo rc=$?; touch /tmp/f && echo touched', p);
      has(out, 'Permission denied', 'mkdir errno');
      has(out, 'rc=1', 'mkdir status');
      has(out, 'touched', 'touch allowed');
    },
  },
  {
    name: 'seccomp-errno-default-eperm',
    description: 'SCMP_ACT_ERRNO without errnoRet returns EPERM',
    run(h) {
      const out = probeWith(h, 'mkdir /tmp/x 2>&1; echo rc=$?', allowAllBut([{ names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_ERRNO' }]));
      has(out, 'Operation not permitted', 'mkdir errno');
    },
  },
  {
    name: 'seccomp-args-masked-eq',
    description: 'argument filters: chmod/fchmodat denied (EXDEV) only when mode & 0777 == 0777 (SCMP_CMP_MASKED_EQ)',
    run(h) {
      const p = allowAllBut([
        { names: ['chmod'], action: 'SCMP_ACT_ERRNO', errnoRet: 18, args: [{ index: 1, value: 0o777, valueTwo: 0o777, op: 'SCMP_CMP_MASKED_EQ' }] },
        { names: ['fchmodat'], action: 'SCMP_ACT_ERRNO', errnoRet: 18, args: [{ index: 2, value: 0o777, valueTwo: 0o777, op: 'SCMP_CMP_MASKED_EQ' }] },
      ]);
      const out = probeWith(h, 'touch /tmp/f; chmod 755 /tmp/f && echo ok755; chmod 777 /tmp/f 2>&1; stat -c %a /tmp/f', p);
      has(out, 'ok755', 'chmod 755 allowed');
      has(out, 'Invalid cross-device link', 'chmod 777 denied with errnoRet');
      has(out, '755', 'mode unchanged');
    },
  },
  {
    name: 'seccomp-args-compare',
    description: 'argument filters with SCMP_CMP_GT and two conditions ANDed on different arguments',
    run(h) {
      // kill(pid, sig) with sig > 9 and pid != 0 is denied; kill -0 / kill -9 are not.
      const p = allowAllBut([
        {
          names: ['kill'],
          action: 'SCMP_ACT_ERRNO',
          errnoRet: 13,
          args: [
            { index: 1, value: 9, op: 'SCMP_CMP_GT' },
            { index: 0, value: 0, op: 'SCMP_CMP_NE' },
          ],
        },
      ]);
      const out = probeWith(h, 'sleep 5 & p=$!; kill -0 $p && echo alive; kill -TERM $p 2>&1; kill -9 $p && echo killed', p);
      has(out, 'alive', 'kill -0 allowed');
      has(out, 'Permission denied', 'kill -TERM denied');
      has(out, 'killed', 'kill -9 allowed');
    },
  },
  {
    name: 'seccomp-kill-process',
    description: 'SCMP_ACT_KILL_PROCESS kills the caller with SIGSYS (status 128+31)',
    run(h) {
      const out = probeWith(h, 'sh -c sync; echo rc=$?', allowAllBut([{ names: ['sync'], action: 'SCMP_ACT_KILL_PROCESS' }]));
      has(out, 'rc=159', 'SIGSYS');
    },
  },
  {
    name: 'seccomp-trap',
    description: 'SCMP_ACT_TRAP delivers SIGSYS',
    run(h) {
      const out = probeWith(h, 'sh -c sync; echo rc=$?', allowAllBut([{ names: ['sync'], action: 'SCMP_ACT_TRAP' }]));
      has(out, 'rc=159', 'SIGSYS');
    },
  },
  {
    name: 'seccomp-log-and-unknown-names',
    description: 'SCMP_ACT_LOG allows; unknown syscall names are skipped, not fatal',
    run(h) {
      const p = allowAllBut([
        { names: ['uname'], action: 'SCMP_ACT_LOG' },
        { names: ['no_such_syscall_tsrun', 'mkdir', 'mkdirat'], action: 'SCMP_ACT_ERRNO', errnoRet: 13 },
      ]);
      const out = probeWith(h, 'uname -s; mkdir /tmp/x 2>&1', p);
      has(out, 'Linux', 'uname logged and allowed');
      has(out, 'Permission denied', 'the other names of the rule still apply');
    },
  },
  {
    name: 'seccomp-notify',
    description: 'SCMP_ACT_NOTIFY: the agent at listenerPath gets the notify fd + container process state and answers (EDQUOT)',
    run(h) {
      skipUnless(need(host().features.seccompNotify.ok, host().features.seccompNotify.why));
      const agent = startAgent(h.dir, 122);
      try {
        const p = {
          ...allowAllBut([{ names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_NOTIFY' }]),
          listenerPath: agent.socket,
          listenerMetadata: 'conformance-metadata',
        };
        const out = probeWith(h, 'mkdir /tmp/x 2>&1; echo rc=$?', p, false);
        has(out, 'Disk quota exceeded', 'errno from the agent');
        const file = path.join(agent.out, 'state-0.json');
        check(fs.existsSync(file), 'the agent got no container process state');
        const st = JSON.parse(fs.readFileSync(file, 'utf8'));
        check(Array.isArray(st.fds) && st.fds[0] === 'seccompFd', `fds ${JSON.stringify(st.fds)}`);
        check(st.metadata === 'conformance-metadata', `metadata ${JSON.stringify(st.metadata)}`);
        check(typeof st.pid === 'number' && st.pid > 0, `pid ${st.pid}`);
        check(st.state?.id === h.id && st.state?.pid === st.pid, `state ${JSON.stringify(st.state)}`);
        check(typeof st.ociVersion === 'string' && st.state?.bundle === h.bundle, `state ${JSON.stringify(st)}`);
        const log = fs.readFileSync(path.join(agent.out, 'log'), 'utf8');
        check(/^83$/m.test(log) || /^258$/m.test(log), `the agent saw no mkdir notification: ${JSON.stringify(log)}`);
      } finally {
        agent.stop();
      }
    },
  },
  {
    name: 'seccomp-bad-action',
    description: 'an unknown seccomp action is rejected at create, nothing is left behind',
    run(h) {
      expectCreateFails(h, allowAllBut([{ names: ['mkdir'], action: 'SCMP_ACT_NOPE' }]));
    },
  },
  {
    name: 'seccomp-bad-arch',
    description: 'an unknown architecture is rejected at create',
    run(h) {
      expectCreateFails(h, { defaultAction: 'SCMP_ACT_ALLOW', architectures: ['SCMP_ARCH_VAX'] });
    },
  },
  {
    name: 'seccomp-bad-op',
    description: 'an unknown argument operator is rejected at create',
    run(h) {
      expectCreateFails(h, allowAllBut([{ names: ['chmod'], action: 'SCMP_ACT_ERRNO', args: [{ index: 1, value: 1, op: 'SCMP_CMP_ALMOST' }] }]));
    },
  },
];
