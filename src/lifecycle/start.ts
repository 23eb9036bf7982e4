/**
 * Releases a created container's init: it blocks reading the exec fifo, so
 * one byte written here lets it execve the user's process. O_NONBLOCK makes
 * a dead init show up as ENXIO (no reader) instead of blocking forever.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { TsrunError, describeSystemError } from '../errors';
import { EXEC_FIFO } from '../state/paths';

export function releaseInit(dir: string): void {
  const fifo = path.join(dir, EXEC_FIFO);
  let fd: number;
  try {
    fd = fs.openSync(fifo, fs.constants.O_WRONLY | fs.constants.O_NONBLOCK);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENXIO') throw new TsrunError('cannot start a container whose init has exited');
    throw describeSystemError(`open exec fifo ${fifo}`, e);
  }
  try {
    fs.writeSync(fd, Buffer.from('0'));
  } catch (e) {
    throw describeSystemError(`write exec fifo ${fifo}`, e);
  } finally {
    fs.closeSync(fd);
  }
  try {
    // unlinkSync, not rmSync: rmSync's option validation alone costs milliseconds on this hot path.
    fs.unlinkSync(fifo);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw describeSystemError(`remove exec fifo ${fifo}`, e);
  }
}
