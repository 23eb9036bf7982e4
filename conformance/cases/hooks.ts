/** Hooks (config.md "POSIX-platform Hooks", runtime.md "Lifecycle" steps 3-13). */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Case, check, Harness } from '../harness';

interface Logged {
  stage: string;
  argv: string;
  env: string;
  state: Record<string, any>;
}

/** A hook that appends "stage|argv|env|<stdin>" as one line to `log` (host /bin/sh). */
function hook(log: string, stage: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    path: '/bin/sh',
    args: ['sh', '-c', `printf '%s|%s|%s|' "${stage}" "$0" "$(env | grep -v '^PWD=' | grep -v '^SHLVL=' | grep -v '^_=' | sort | tr '\\n' ' ')" >> ${log}; cat >> ${log}; echo >> ${log}`],
    env: ['HOOKVAR=1', `STAGE=${stage}`],
    ...extra,
  };
}

function readLog(log: string): Logged[] {
  let text = '';
  try {
    text = fs.readFileSync(log, 'utf8');
  } catch {
    return [];
  }
  return text
    .split('\n')
    .filter(Boolean)
    .map((l) => {
      const [stage, argv, env, ...rest] = l.split('|');
      let state: Record<string, any> = {};
      try {
        state = JSON.parse(rest.join('|'));
      } catch {
        throw new Error(`hook ${stage}: stdin is not the state JSON: ${JSON.stringify(rest.join('|'))}`);
      }
      return { stage, argv, env, state };
    });
}

function checkState(h: Harness, e: Logged, status: string): void {
  check(e.state.id === h.id, `${e.stage}: state.id ${e.state.id}`);
  check(e.state.status === status, `${e.stage}: state.status ${JSON.stringify(e.state.status)}, wanted ${status}`);
  check(e.state.bundle === h.bundle, `${e.stage}: state.bundle ${e.state.bundle}`);
  check(typeof e.state.ociVersion === 'string', `${e.stage}: state.ociVersion missing`);
}

/** Reads its stdin (a runtime may die of SIGPIPE otherwise: crun 1.8), then fails. */
const FAILING = { path: '/bin/sh', args: ['sh', '-c', 'cat > /dev/null; exit 1'] };

const RUNC_POSTSTART = 'runc 1.1.5 runs poststart hooks at the end of create, before start (fixed in runc 1.2)';

export const hookCases: Case[] = [
  {
    name: 'hooks-create-container-cwd',
    description: 'createContainer hooks start in the container\'s root directory (runc chdirs to the rootfs before running them)',
    notApplicable: { crun: 'crun 1.8 does not start createContainer hooks in the rootfs' },
    run(h) {
      const log = path.join(h.dir, 'cwd.log');
      h.makeBundle({ args: ['true'], edit: (c) => (c.hooks = { createContainer: [{ path: '/bin/sh', args: ['sh', '-c', `cat > /dev/null; pwd > ${log}; test -x bin/busybox && echo rootfs >> ${log}`] }] }) });
      h.create();
      const got = fs.readFileSync(log, 'utf8').trim().split('\n');
      check(got[0] === fs.realpathSync(path.join(h.bundle, 'rootfs')) && got[1] === 'rootfs', `cwd ${JSON.stringify(got)}`);
    },
  },
  {
    name: 'hooks-create',
    description: 'prestart, createRuntime, createContainer run during create, in that order, state "creating" on stdin, exact args[0] and env',
    notApplicable: { crun: 'crun 1.8 passes status "created" (not "creating") to the create-time hooks' },
    run(h) {
      const log = path.join(h.dir, 'hooks.log');
      h.makeBundle({
        args: ['true'],
        edit: (c) => {
          c.hooks = { prestart: [hook(log, 'prestart')], createRuntime: [hook(log, 'createRuntime')], createContainer: [hook(log, 'createContainer')] };
        },
      });
      h.create();
      const pid = Number(fs.readFileSync(h.pidFile, 'utf8'));
      const got = readLog(log);
      check(got.map((e) => e.stage).join(',') === 'prestart,createRuntime,createContainer', `order ${got.map((e) => e.stage)}`);
      for (const e of got) {
        checkState(h, e, 'creating');
        check(e.argv === 'sh', `${e.stage}: argv[0] ${JSON.stringify(e.argv)}`);
        check(e.env.trim() === `HOOKVAR=1 STAGE=${e.stage}`, `${e.stage}: env ${JSON.stringify(e.env)}`);
      }
      // Runtime-namespace hooks see the init's host pid.
      check(got[0].state.pid === pid && got[1].state.pid === pid, `runtime hooks pid ${got[0].state.pid}/${got[1].state.pid}, init ${pid}`);
      h.delete(h.id, true);
    },
  },
  {
    name: 'hooks-start',
    description: 'startContainer runs after start inside the container (state "created"), poststart after the process started ("running")',
    notApplicable: { runc: RUNC_POSTSTART, crun: 'crun 1.8 gives startContainer hooks a placeholder state (status "starting", pid 0, bundle "/")' },
    run(h) {
      const log = path.join(h.dir, 'hooks.log');
      h.makeBundle({
        args: ['sh', '-c', 'echo started; sleep 2'],
        edit: (c) => {
          c.root.readonly = false;
          // Resolved and run in the container: busybox sh, writing into the container's /tmp.
          c.hooks = {
            startContainer: [{ path: '/bin/sh', args: ['sh', '-c', 'cat > /tmp/startContainer.state'] }],
            poststart: [hook(log, 'poststart')],
          };
        },
      });
      h.create();
      const sc = path.join(h.bundle, 'rootfs/tmp/startContainer.state');
      check(!fs.existsSync(sc), 'startContainer ran before start');
      check(readLog(log).length === 0, 'poststart ran before start');
      h.start();
      h.waitOutput('started');
      const s = JSON.parse(fs.readFileSync(sc, 'utf8'));
      check(s.status === 'created' && s.id === h.id, `startContainer state ${JSON.stringify(s)}`);
      const got = readLog(log);
      check(got.length === 1 && got[0].stage === 'poststart', `poststart log ${JSON.stringify(got)}`);
      checkState(h, got[0], 'running');
      h.kill('KILL');
      h.waitStopped();
      h.delete();
    },
  },
  {
    name: 'hooks-poststop',
    description: 'poststop runs at delete with the state on stdin; a failing poststop hook is only a warning',
    run(h) {
      const log = path.join(h.dir, 'hooks.log');
      h.makeBundle({
        args: ['true'],
        edit: (c) => {
          c.hooks = { poststop: [hook(log, 'poststop'), FAILING] };
        },
      });
      h.create();
      check(readLog(log).length === 0, 'poststop ran at create');
      h.start();
      h.waitStopped();
      h.delete();
      const got = readLog(log);
      check(got.length === 1 && got[0].stage === 'poststop', `poststop log ${JSON.stringify(got)}`);
      check(got[0].state.id === h.id, `poststop state ${JSON.stringify(got[0].state)}`);
      const r = h.run(['state', h.id]);
      check(r.status !== 0, 'container still exists after delete');
    },
  },
  {
    name: 'hooks-poststop-continue',
    description: 'after a failing poststop hook the remaining poststop hooks still run (runtime.md step 13)',
    notApplicable: { runc: 'runc 1.1.5 stops at the first failing poststop hook' },
    run(h) {
      const log = path.join(h.dir, 'hooks.log');
      h.makeBundle({
        args: ['true'],
        edit: (c) => {
          c.hooks = { poststop: [FAILING, hook(log, 'poststop')] };
        },
      });
      h.create();
      h.start();
      h.waitStopped();
      h.delete();
      const got = readLog(log);
      check(got.length === 1 && got[0].stage === 'poststop', `poststop log ${JSON.stringify(got)}`);
    },
  },
  {
    name: 'hooks-create-failure',
    description: 'a failing createRuntime hook fails create and leaves no container behind',
    run(h) {
      const marker = path.join(h.dir, 'later-hook-ran');
      h.makeBundle({
        args: ['true'],
        edit: (c) => {
          c.hooks = { createRuntime: [{ path: '/bin/sh', args: ['sh', '-c', 'exit 3'] }], createContainer: [{ path: '/bin/touch', args: ['touch', marker] }] };
        },
      });
      const r = h.tryCreate();
      check(r.status !== 0, 'create succeeded despite a failing hook');
      check(!fs.existsSync(marker), 'createContainer ran after a failed createRuntime hook');
      check(h.run(['state', h.id]).status !== 0, 'a container exists after the failed create');
    },
  },
  {
    name: 'hooks-timeout',
    description: 'a hook running past its timeout is killed and fails create',
    run(h) {
      h.makeBundle({
        args: ['true'],
        edit: (c) => {
          c.hooks = { createRuntime: [{ path: '/bin/sleep', args: ['sleep', '20'], timeout: 1 }] };
        },
      });
      const t0 = Date.now();
      const r = h.tryCreate();
      check(r.status !== 0, 'create succeeded despite a hook timeout');
      check(Date.now() - t0 < 15_000, `create took ${Date.now() - t0} ms`);
      check(h.run(['state', h.id]).status !== 0, 'a container exists after the failed create');
    },
  },
];
