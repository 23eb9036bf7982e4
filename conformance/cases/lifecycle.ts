/** Lifecycle and command semantics (runtime.md "Lifecycle", "Operations"; runc's caller contract). */
import * as fs from 'node:fs';
import { Case, check, Harness, hostPidRunning, sleepMs } from '../harness';

/** A process that keeps pid 1 alive until killed (pid 1 ignores signals it does not handle: use KILL). */
const LONG = ['sleep', '300'];

/** A shell that handles TERM: prints `ready` once the trap is installed, `got-term` on TERM. */
const TRAP_TERM = ['sh', '-c', "trap 'echo got-term; exit 0' TERM; echo ready; while :; do sleep 0.1; done"];

function expectFail(h: Harness, args: string[], what: string): void {
  const r = h.run(args);
  check(r.status !== 0 && r.status !== null, `${what}: expected a non-zero exit, got ${r.status}${r.signal ? ' ' + r.signal : ''}`);
}


export const lifecycleCases: Case[] = [
  {
    name: 'lifecycle-states',
    description: 'state is created after create, running after start, stopped after the process exits; pid > 0 while created/running; state fails after delete',
    run(h) {
      h.makeBundle({ args: ['sleep', '2'] });
      h.create();
      const s1 = h.state();
      check(s1.status === 'created', `after create: status ${s1.status}`);
      check(Number.isInteger(s1.pid) && s1.pid! > 0, `created: pid ${s1.pid}`);
      check(hostPidRunning(s1.pid!), `created: pid ${s1.pid} not alive on the host`);
      check(s1.bundle === h.bundle, `bundle ${s1.bundle} != ${h.bundle}`);
      h.start();
      const s2 = h.state();
      check(s2.status === 'running', `after start: status ${s2.status}`);
      check(s2.pid === s1.pid, `running: pid ${s2.pid} != created pid ${s1.pid}`);
      h.waitStopped();
      h.delete();
      expectFail(h, ['state', h.id], 'state after delete');
    },
  },
  {
    name: 'pid-file',
    description: 'create --pid-file writes the host pid of the init, decimal without newline, equal to state.pid',
    run(h) {
      h.makeBundle({ args: LONG });
      h.create();
      const raw = fs.readFileSync(h.pidFile, 'utf8');
      check(/^[1-9][0-9]*$/.test(raw), `pid file content ${JSON.stringify(raw)} is not a bare decimal`);
      const s = h.state();
      check(Number(raw) === s.pid, `pid file ${raw} != state.pid ${s.pid}`);
      check(hostPidRunning(s.pid!), `pid ${s.pid} not alive on the host`);
      h.delete(h.id, true);
    },
  },
  {
    name: 'create-existing-id',
    description: 'create with an id already in use fails and leaves the first container intact',
    run(h) {
      h.makeBundle({ args: LONG });
      h.create();
      const before = h.state();
      const r = h.tryCreate(h.id, h.bundle, `${h.pidFile}.2`);
      check(r.status !== 0, `second create of ${h.id} succeeded`);
      const after = h.state();
      check(after.status === 'created' && after.pid === before.pid, `first container changed: ${after.status} pid ${after.pid} (was ${before.pid})`);
      check(hostPidRunning(before.pid!), 'first container init died');
      h.delete(h.id, true);
    },
  },
  {
    name: 'start-not-created',
    description: 'start of a running or a stopped container fails',
    run(h) {
      h.makeBundle({ args: LONG });
      h.create();
      h.start();
      expectFail(h, ['start', h.id], 'start of a running container');
      check(h.state().status === 'running', 'container not running after a rejected start');
      h.kill('KILL');
      h.waitStopped();
      expectFail(h, ['start', h.id], 'start of a stopped container');
      h.delete();
    },
  },
  {
    name: 'state-missing',
    description: 'state of an unknown id fails',
    run(h) {
      expectFail(h, ['state', h.newId('missing')], 'state of a missing id');
    },
  },
  {
    name: 'delete-running',
    description: 'delete without --force of a running container fails and leaves it running; delete --force removes it',
    run(h) {
      h.makeBundle({ args: LONG });
      h.create();
      h.start();
      const pid = h.state().pid!;
      expectFail(h, ['delete', h.id], 'delete of a running container');
      check(h.state().status === 'running', 'container not running after a rejected delete');
      h.delete(h.id, true);
      expectFail(h, ['state', h.id], 'state after delete --force');
      const deadline = Date.now() + 5000;
      while (hostPidRunning(pid) && Date.now() < deadline) sleepMs(20);
      check(!hostPidRunning(pid), `init ${pid} still alive after delete --force`);
    },
  },
  {
    name: 'delete-force-missing',
    description: 'delete --force of an unknown id succeeds',
    run(h) {
      h.delete(h.newId('missing'), true);
    },
  },
  {
    name: 'delete-created',
    description: 'delete of a created (never started) container succeeds and kills its init',
    run(h) {
      h.makeBundle({ args: LONG });
      h.create();
      const pid = h.state().pid!;
      h.delete(h.id, true);
      expectFail(h, ['state', h.id], 'state after delete');
      const deadline = Date.now() + 5000;
      while (hostPidRunning(pid) && Date.now() < deadline) sleepMs(20);
      check(!hostPidRunning(pid), `init ${pid} still alive after delete --force`);
    },
  },
  ...['TERM', '15', 'SIGTERM'].map(
    (sig): Case => ({
      name: `kill-${sig}`,
      description: `kill <id> ${sig} delivers SIGTERM to the container process (number, name, SIG-name; lower case is runc-only: crun 1.8 rejects it)`,
      run(h) {
        h.makeBundle({ args: TRAP_TERM });
        h.create();
        h.start();
        h.waitOutput('ready');
        h.kill(sig);
        h.waitStopped();
        check(h.stdout().includes('got-term'), `trap did not run; stdout=${JSON.stringify(h.stdout())}`);
        h.delete();
      },
    }),
  ),
  {
    name: 'kill-KILL',
    description: 'kill <id> KILL stops a pid 1 that handles nothing',
    run(h) {
      h.makeBundle({ args: LONG });
      h.create();
      h.start();
      h.kill('KILL');
      h.waitStopped();
      h.delete();
    },
  },
  {
    name: 'kill-stopped',
    description: 'kill of a stopped container fails (runc: "container not running")',
    run(h) {
      h.makeBundle({ args: ['true'] });
      h.create();
      h.start();
      h.waitStopped();
      expectFail(h, ['kill', h.id, 'KILL'], 'kill of a stopped container');
      h.delete();
    },
  },
];
