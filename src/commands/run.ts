/**
 * run = create + start (+ wait + delete in the foreground). In the
 * foreground the init is our own child so that we can wait for it and
 * forward signals, as runc does; the exit status is the container's, 128+n
 * when it was killed by signal n.
 */
import type { CommandRun } from '../cli/types';
import { createContainer } from '../lifecycle/create';
import { destroyContainer } from '../lifecycle/destroy';
import { startContainer } from '../hooks/start';
import { waitPid } from '../native/addon';
import { createOptions } from './create';
import { OwnConsole, drain, proxyTty, type TtyProxy } from '../lifecycle/tty-proxy';

const FORWARDED: NodeJS.Signals[] = ['SIGTERM', 'SIGINT', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2', 'SIGWINCH'];

export const run: CommandRun = async (inv) => {
  const detach = Boolean(inv.flags.detach);
  const opts = createOptions(inv, detach);
  opts.detach = detach;
  // process.terminal in the foreground without --console-socket: tsrun receives the master itself and proxies.
  let own: OwnConsole | undefined;
  opts.ownConsoleSocket = () => (own = new OwnConsole()).path;
  let proxy: TtyProxy | undefined;
  let created: ReturnType<typeof createContainer>;
  try {
    created = createContainer(opts);
  } catch (e) {
    own?.close();
    throw e;
  }
  try {
    if (own) {
      try {
        proxy = proxyTty(own.receive().master);
      } finally {
        own.close();
      }
    }
    startContainer(created.dir, created.record);
  } catch (e) {
    proxy?.stop();
    try {
      process.kill(created.pid, 'SIGKILL');
    } catch {
      /* gone */
    }
    destroyContainer(opts.globals.root, opts.id, created.record);
    throw e;
  }
  if (detach) return 0;

  const forward = (sig: NodeJS.Signals) => {
    try {
      process.kill(created.pid, sig);
    } catch {
      /* already exited */
    }
  };
  for (const s of FORWARDED) process.on(s, forward);
  try {
    const status = await waitPid(created.pid);
    if (proxy) {
      await drain(proxy);
      proxy.stop();
    }
    return status.signal !== null ? 128 + status.signal : (status.exitCode ?? 0);
  } finally {
    for (const s of FORWARDED) process.off(s, forward);
    if (!inv.flags.keep) destroyContainer(opts.globals.root, opts.id, created.record);
  }
};
