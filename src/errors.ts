/**
 * The one error type tsrun throws. The CLI prints `message` as the single
 * error line (stderr and --log), so messages carry their context: which
 * container, path, mount or syscall, and the errno text. (The structured
 * part is `context`, not `details`: uvu's reporter takes `details` for a diff.)
 */
export class TsrunError extends Error {
  constructor(
    message: string,
    readonly context: { errno?: number; syscall?: string; path?: string; exitCode?: number } = {},
  ) {
    super(message);
    this.name = 'TsrunError';
  }
}

/** runc's wording, which callers (containerd, podman) match on. */
export const ERR_NOT_EXIST = 'container does not exist';
export const ERR_NOT_RUNNING = 'container not running';
export const ERR_EXIST = 'container with given ID already exists';
export const ERR_STILL_RUNNING = 'container still running';

/** Turns an fs/Node error into one line with its context. */
export function describeSystemError(what: string, e: unknown): TsrunError {
  const err = e as NodeJS.ErrnoException;
  if (err && typeof err.code === 'string') {
    const text = err.message.replace(/^[A-Z]+: /, '').replace(/, [a-z]+ '.*'$/, '');
    return new TsrunError(`${what}: ${text}`, { errno: err.errno, syscall: err.syscall, path: err.path });
  }
  return new TsrunError(`${what}: ${String(e)}`);
}
