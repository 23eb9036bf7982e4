/**
 * `start` with hooks: release the init, wait until the user's process was
 * exec'd (or the startContainer hooks failed), then run the poststart hooks.
 *
 * The wait uses the status fifo (plan_wire.h OP_OPEN_STATUS_FIFO): the init
 * holds it O_RDWR|O_CLOEXEC, so the last writer disappears exactly at the
 * init's execve (or exit); a failure after OP_READY writes its one-line
 * message into it first. We hold a read end opened before the release, so
 * EOF means "exec'd or dead" and any bytes are the init's error.
 * Containers without startContainer/poststart hooks have no status fifo and
 * take the plain exec-fifo path (the hot path stays one write).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { TsrunError, describeSystemError } from '../errors';
import type { Hooks } from '../config/types';
import { releaseInit } from '../lifecycle/start';
import { readToEnd } from '../util/read-to-end';
import { processAlive } from '../state/proc';
import type { StateRecord } from '../state/store';
import { runHooks, type HookState } from './run';

export const STATUS_FIFO = 'status.fifo';

export function recordHooks(rec: StateRecord): Hooks | undefined {
  const c = rec.config as { hooks?: Hooks } | undefined;
  return c?.hooks;
}

/** Reads the status fifo until EOF; returns what the init wrote (empty on a clean exec). */
function waitForExec(fd: number): string {
  return readToEnd(fd, 'status fifo').toString('utf8').trim();
}

/**
 * Releases a created container and runs the start-time hooks. A
 * startContainer failure fails `start` (the init has already exited); a
 * poststart failure kills the container and fails `start` (runtime-spec
 * v1.3.0). Either way the container is left stopped for `delete`, as runc does.
 */
export function startContainer(dir: string, rec: StateRecord): void {
  const hooks = recordHooks(rec);
  const statusPath = path.join(dir, STATUS_FIFO);
  let statusFd = -1;
  try {
    statusFd = fs.openSync(statusPath, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw describeSystemError(`open status fifo ${statusPath}`, e);
  }
  if (statusFd < 0) {
    releaseInit(dir);
    return;
  }
  let failure: string;
  try {
    releaseInit(dir);
    failure = waitForExec(statusFd);
  } finally {
    fs.closeSync(statusFd);
    fs.rmSync(statusPath, { force: true });
  }
  if (failure) throw new TsrunError(`container init: ${failure.replace(/^tsrun-init: /, '')}`);
  // A process that already ran and exited is not a start failure: poststart still runs.
  runPoststart(hooks, rec);
}

function runPoststart(hooks: Hooks | undefined, rec: StateRecord): void {
  if (!hooks?.poststart?.length) return;
  const state: HookState = {
    ociVersion: rec.ociVersion,
    id: rec.id,
    status: processAlive(rec.pid, rec.initStartTime) ? 'running' : 'stopped',
    pid: rec.pid,
    bundle: rec.bundle,
    annotations: rec.annotations ?? {},
  };
  try {
    runHooks('poststart', hooks, state);
  } catch (e) {
    try {
      process.kill(rec.pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
    throw e;
  }
}
