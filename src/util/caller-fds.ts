/**
 * Which of the fds `--preserve-fds` passes were really the caller's. By the
 * time tsrun's code runs, Node has opened fds of its own (epoll, eventfd,
 * pipes) at the lowest free numbers: a gap in the caller's fds 3.. is filled
 * by one of Node's, which the addon's own check (fcntl F_GETFD) cannot tell
 * from the caller's. The launcher (addon/launcher/tsrun.c) checks them before
 * Node exists and says so in TSRUN_CALLER_FDS="<n> <fd>": fds 3..3+n-1 were
 * checked, <fd> is the first that was not open (-1: none). Read and removed
 * from the environment when this module loads, so nothing tsrun starts
 * (hooks, newuidmap) inherits it. Without the launcher (node dist/...) there
 * is no record and the addon's check is all there is.
 *
 * Node cannot hold an fd the caller passed (the number was taken when Node
 * started), so nothing of Node's has to be moved out of the range: with no
 * gap every fd in it is the caller's.
 */
import { TsrunError } from '../errors';

export const CALLER_FDS_ENV = 'TSRUN_CALLER_FDS';

export interface CallerFds {
  /** fds 3 .. 3+checked-1 were checked by the launcher. */
  checked: number;
  /** The first of them the caller had not open, -1 when all were. */
  firstClosed: number;
}

export function parseCallerFds(value: string | undefined): CallerFds | undefined {
  const m = value === undefined ? null : /^(\d{1,8}) (-1|\d{1,8})$/.exec(value);
  if (!m) return undefined;
  return { checked: Number(m[1]), firstClosed: Number(m[2]) };
}

const recorded = parseCallerFds(process.env[CALLER_FDS_ENV]);
delete process.env[CALLER_FDS_ENV];

/**
 * Refuses preserved fds (3 .. 3+total-1: LISTEN_FDS + --preserve-fds) the
 * caller did not pass, with the words of the addon's check. `flag` is the
 * --preserve-fds value, for the message.
 */
export function checkCallerFds(total: number, flag: number, rec: CallerFds | undefined = recorded): void {
  if (!rec || total <= 0) return;
  if (rec.firstClosed >= 3 && rec.firstClosed < 3 + Math.min(total, rec.checked)) {
    throw new TsrunError(`--preserve-fds ${flag}: fd ${rec.firstClosed} is not open (the caller did not pass it)`);
  }
}
