/** Container ids and where their state lives. */
import * as path from 'node:path';
import { TsrunError } from '../errors';

/** runc's wording for a malformed id. */
export const ERR_INVALID_ID = 'invalid container ID format';

/**
 * Longest id accepted: the id is a file name under --root, and the lock file
 * `.<id>.lock` (+ a takeover suffix) must fit NAME_MAX (255).
 */
export const MAX_ID_LENGTH = 240;

const ID_RE = /^[\w+\-.]+$/;

/** runc's rule: `^[\w+-\.]+$`, and not "." or ".." (so never a path). Throws TsrunError. */
export function validateId(id: string): void {
  if (typeof id !== 'string' || id.length === 0 || id.length > MAX_ID_LENGTH || !ID_RE.test(id) || id === '.' || id === '..') {
    throw new TsrunError(ERR_INVALID_ID);
  }
}

/** `<root>/<id>`, after validating the id. */
export function containerDir(root: string, id: string): string {
  validateId(id);
  return path.join(root, id);
}

export const STATE_FILE = 'state.json';
/** The fifo that a created container's init blocks on until `start`. */
export const EXEC_FIFO = 'exec.fifo';

export function stateFile(root: string, id: string): string {
  return path.join(containerDir(root, id), STATE_FILE);
}

export function execFifoPath(root: string, id: string): string {
  return path.join(containerDir(root, id), EXEC_FIFO);
}
