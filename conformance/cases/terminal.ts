/** process.terminal with --console-socket: runc's protocol (anchors.md §3.2), the pty inside the container. */
import * as fs from 'node:fs';
import { TtyReceiver, readAll } from '../../test/helpers/recvtty';
import { Case, check, Harness } from '../harness';

function withReceiver(h: Harness, fn: (r: TtyReceiver) => void): void {
  const r = new TtyReceiver();
  try {
    fn(r);
  } finally {
    r.close();
  }
}

const OWNERS = 'for f in 0 1 2; do stat -L -c %u:%g /proc/self/fd/$f; done';

export const terminalCases: Case[] = [
  {
    name: 'terminal-owner',
    description: 'the pty becomes owned by process.user.uid (its gid stays the devpts one), so a non-root process can use its console',
    run(h) {
      withReceiver(h, (r) => {
        h.makeBundle({
          args: ['sh', '-c', OWNERS],
          edit: (c) => {
            c.process.terminal = true;
            c.process.user = { uid: 1000, gid: 1000 };
          },
        });
        const c = h.tryCreate(h.id, h.bundle, h.pidFile, ['--console-socket', r.path]);
        check(c.status === 0, `create failed: ${c.status} ${c.stderr}`);
        const got = r.receive();
        try {
          h.start();
          const out = readAll(got.master).replace(/\r/g, '').trim().split('\n');
          check(out.join(' ') === '1000:5 1000:5 1000:5', `owners: ${JSON.stringify(out)}`);
        } finally {
          fs.closeSync(got.master);
        }
      });
    },
  },
  {
    name: 'stdio-owner',
    description: 'stdio handed to create (files here) becomes owned by process.user.uid; a /dev/null stdin is never chowned',
    notApplicable: { crun: 'crun 1.8 changes the gid too, and its /dev/null stdin shows the user\'s ids' },
    run(h) {
      const out = h.probe(`${OWNERS}; echo reopened >> /dev/stdout`, (c) => (c.process.user = { uid: 1000, gid: 1000 }));
      const nul = fs.statSync('/dev/null');
      check(out.trim().split('\n').join(' ') === `${nul.uid}:${nul.gid} 1000:0 1000:0 reopened`, `owners: ${JSON.stringify(out)}`);
      check(fs.statSync(h.outFile).uid === 1000, 'stdout file not given to the user');
    },
  },
  {
    name: 'terminal-console-socket',
    description: 'create --console-socket sends one message with exactly one SCM_RIGHTS fd (the master); the process runs on the pty with consoleSize and /dev/console is that pty',
    run(h) {
      withReceiver(h, (r) => {
        h.makeBundle({
          args: ['sh', '-c', 'busybox tty; busybox stty size; for f in 0 1 2; do readlink /proc/self/fd/$f; done; stat -c %t:%T /dev/console; stat -L -c %t:%T /proc/self/fd/0'],
          edit: (c) => {
            c.process.terminal = true;
            c.process.consoleSize = { height: 31, width: 97 };
          },
        });
        const c = h.tryCreate(h.id, h.bundle, h.pidFile, ['--console-socket', r.path]);
        check(c.status === 0, `create failed: ${c.status} ${c.stderr}`);
        const got = r.receive();
        try {
          check(got.problems.length === 0, `console message: ${got.problems.join('; ')}`);
          h.start();
          const out = readAll(got.master).replace(/\r/g, '').trim().split('\n');
          check(/^\/dev\/pts\/\d+$/.test(out[0]), `tty: ${out[0]}`);
          check(out[1] === '31 97', `stty size: ${out[1]}`);
          for (let i = 2; i < 5; i++) check(out[i] === out[0], `fd ${i - 2} is ${out[i]}, not ${out[0]}`);
          check(out[5] === out[6], `/dev/console ${out[5]} is not the pty ${out[6]}`);
        } finally {
          fs.closeSync(got.master);
        }
      });
    },
  },
  {
    name: 'terminal-exec-console-socket',
    description: 'exec --tty --detach --console-socket gives the exec\'d process its own pty in the container',
    run(h) {
      h.makeBundle({ args: ['sleep', '300'] });
      h.create();
      h.start();
      withReceiver(h, (r) => {
        const e = h.run(['exec', '--tty', '--detach', '--console-socket', r.path, h.id, 'sh', '-c', 'busybox tty; echo exec-ok']);
        check(e.status === 0, `exec failed: ${e.status} ${e.stderr}`);
        const got = r.receive();
        try {
          check(got.problems.length === 0, `console message: ${got.problems.join('; ')}`);
          const out = readAll(got.master).replace(/\r/g, '').trim().split('\n');
          check(/^\/dev\/pts\/\d+$/.test(out[0]), `tty: ${out[0]}`);
          check(out[1] === 'exec-ok', `output: ${JSON.stringify(out)}`);
        } finally {
          fs.closeSync(got.master);
        }
      });
    },
  },
  {
    name: 'terminal-detach-needs-socket',
    description: 'create with process.terminal but no --console-socket fails (a detached tty needs a socket)',
    run(h) {
      h.makeBundle({ args: ['true'], edit: (c) => (c.process.terminal = true) });
      const c = h.tryCreate();
      check(c.status !== 0, 'create of a terminal container without a console socket succeeded');
    },
  },
];
