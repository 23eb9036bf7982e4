/**
 * Signal names and numbers (Linux, x86/arm generic numbering), parsed the way
 * runc does: `9`, `KILL`, `SIGKILL`, any case, plus SIGRTMIN+n / SIGRTMAX-n.
 */
import { TsrunError } from './errors';

export const SIGRTMIN = 34;
export const SIGRTMAX = 64;
export const DEFAULT_SIGNAL = 15; // SIGTERM

/** Names without the SIG prefix. Aliases (IOT, CLD, POLL, UNUSED) map to the same numbers. */
export const SIGNALS: Readonly<Record<string, number>> = {
  HUP: 1, INT: 2, QUIT: 3, ILL: 4, TRAP: 5, ABRT: 6, IOT: 6, BUS: 7, FPE: 8, KILL: 9,
  USR1: 10, SEGV: 11, USR2: 12, PIPE: 13, ALRM: 14, TERM: 15, STKFLT: 16, CHLD: 17, CLD: 17,
  CONT: 18, STOP: 19, TSTP: 20, TTIN: 21, TTOU: 22, URG: 23, XCPU: 24, XFSZ: 25, VTALRM: 26,
  PROF: 27, WINCH: 28, IO: 29, POLL: 29, PWR: 30, SYS: 31, UNUSED: 31,
  RTMIN: SIGRTMIN, RTMAX: SIGRTMAX,
};

/**
 * Parses a signal given as a number (0..64) or a name, with or without SIG,
 * case-insensitive; undefined/empty → SIGTERM. Unknown → TsrunError(`unknown signal "x"`).
 * 0 is no signal: kill(2)'s liveness probe, which runc's `kill ID 0` passes on.
 */
export function parseSignal(s: string | undefined): number {
  if (s === undefined || s === '') return DEFAULT_SIGNAL;
  const fail = () => new TsrunError(`unknown signal "${s}"`);
  if (/^\d+$/.test(s)) {
    const n = Number(s);
    if (n > SIGRTMAX) throw fail();
    return n;
  }
  let name = s.toUpperCase();
  if (name.startsWith('SIG')) name = name.slice(3);
  const direct = SIGNALS[name];
  if (direct !== undefined && Object.prototype.hasOwnProperty.call(SIGNALS, name)) return direct;
  const rt = /^RT(MIN|MAX)([+-])(\d+)$/.exec(name);
  if (rt) {
    const off = Number(rt[3]);
    if (rt[1] === 'MIN' && rt[2] === '+' && off <= SIGRTMAX - SIGRTMIN) return SIGRTMIN + off;
    if (rt[1] === 'MAX' && rt[2] === '-' && off <= SIGRTMAX - SIGRTMIN) return SIGRTMAX - off;
  }
  throw fail();
}

/** `SIGTERM` for 15, `SIGRTMIN+3` for 37, `SIG<n>` if nameless. */
export function signalName(n: number): string {
  const preferred = ['HUP', 'INT', 'QUIT', 'ILL', 'TRAP', 'ABRT', 'BUS', 'FPE', 'KILL', 'USR1', 'SEGV', 'USR2', 'PIPE', 'ALRM', 'TERM', 'STKFLT', 'CHLD', 'CONT', 'STOP', 'TSTP', 'TTIN', 'TTOU', 'URG', 'XCPU', 'XFSZ', 'VTALRM', 'PROF', 'WINCH', 'IO', 'PWR', 'SYS'];
  if (n >= 1 && n <= preferred.length) return `SIG${preferred[n - 1]}`;
  if (n === SIGRTMIN) return 'SIGRTMIN';
  if (n === SIGRTMAX) return 'SIGRTMAX';
  if (n > SIGRTMIN && n < SIGRTMAX) return n - SIGRTMIN <= SIGRTMAX - n ? `SIGRTMIN+${n - SIGRTMIN}` : `SIGRTMAX-${SIGRTMAX - n}`;
  return `SIG${n}`;
}
