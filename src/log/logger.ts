/**
 * tsrun's log, shaped like runc's (logrus) because callers parse it.
 *
 * Where lines go:
 *   - no --log (or --log /dev/stderr): the log IS stderr; every enabled line goes
 *     there in the chosen format (text by default, as runc).
 *   - --log FILE: every enabled line is appended to FILE; in addition, errors are
 *     written to stderr as the bare message on one line (exactly what runc's
 *     fatal() prints; conmon forwards the runtime's stderr to podman).
 *
 * Formats:
 *   - json: one JSON object per line, `{"level":"error","time":"2026-11-25T17:00:00.123Z","msg":"..."}`,
 *     written with pino (loaded lazily, on the first line actually logged, so
 *     a successful state/kill/start never loads it). containerd's
 *     getLastRuntimeError decodes every line and keeps the last level=error msg,
 *     so every line must be valid JSON: nothing else is ever written to the file.
 *     Levels are logrus's names (`warning`, not pino's `warn`).
 *   - text: logrus's TextFormatter without colours: `time="..." level=error msg="..."`.
 *
 * All writes are synchronous (fs.writeSync / pino sync destination): tsrun never
 * touches process.stdout/stderr streams, which would make Node switch stdio that is
 * shared with containers to O_NONBLOCK.
 */
import * as fs from 'node:fs';

export type Level = 'error' | 'warn' | 'info' | 'debug';

const RANK: Record<Level, number> = { error: 50, warn: 40, info: 30, debug: 20 };
const LOGRUS_NAME: Record<Level, string> = { error: 'error', warn: 'warning', info: 'info', debug: 'debug' };

export interface LoggerOptions {
  /** Absolute path of --log; undefined (or /dev/stderr) means stderr. */
  file?: string;
  format: 'text' | 'json';
  level: Level;
}

export type Fields = Record<string, unknown>;

interface PinoLike {
  error(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
  debug(obj: object, msg: string): void;
}

/** logrus quotes a value when it contains anything but [A-Za-z0-9-._/@^+]. */
function logrusValue(v: unknown): string {
  const s = typeof v === 'string' ? v : v instanceof Error ? v.message : JSON.stringify(v) ?? String(v);
  if (s !== '' && /^[A-Za-z0-9\-._/@^+]+$/.test(s)) return s;
  return JSON.stringify(s);
}

/**
 * RFC 3339 with milliseconds, UTC: Date#toISOString's text, computed from the
 * epoch milliseconds because V8 loads the local time zone (ICU, /etc/localtime)
 * for the first Date it formats, ~0.2 ms of a command that only needs UTC.
 */
export function rfc3339(d: Date | number = Date.now()): string {
  const ms = typeof d === 'number' ? d : d.getTime();
  const days = Math.floor(ms / 86_400_000);
  let rest = ms - days * 86_400_000;
  // Howard Hinnant's days_from_civil, inverted (civil_from_days).
  const z = days + 719_468;
  const era = Math.floor(z / 146_097);
  const doe = z - era * 146_097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36_524) - Math.floor(doe / 146_096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const day = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  const year = yoe + era * 400 + (month <= 2 ? 1 : 0);
  const pad = (n: number, w: number): string => String(n).padStart(w, '0');
  const h = Math.floor(rest / 3_600_000);
  rest -= h * 3_600_000;
  const m = Math.floor(rest / 60_000);
  rest -= m * 60_000;
  const sec = Math.floor(rest / 1000);
  return `${pad(year, 4)}-${pad(month, 2)}-${pad(day, 2)}T${pad(h, 2)}:${pad(m, 2)}:${pad(sec, 2)}.${pad(rest - sec * 1000, 3)}Z`;
}

export function formatText(level: Level, msg: string, fields?: Fields, time: Date | number = Date.now()): string {
  let line = `time="${rfc3339(time)}" level=${LOGRUS_NAME[level]} msg=${logrusValue(msg)}`;
  if (fields) for (const k of Object.keys(fields)) line += ` ${k}=${logrusValue(fields[k])}`;
  return line + '\n';
}

export class Logger {
  private readonly toStderr: boolean;
  private pino?: PinoLike;
  private broken = false;

  constructor(readonly opts: LoggerOptions) {
    this.toStderr = opts.file === undefined || opts.file === '/dev/stderr';
  }

  isLevelEnabled(level: Level): boolean {
    return RANK[level] >= RANK[this.opts.level];
  }

  error(msg: string, fields?: Fields): void {
    this.write('error', msg, fields);
    // The caller (conmon, a human) sees errors on stderr even when the log is a file.
    if (!this.toStderr) writeFd(2, msg.replace(/\n+$/, '') + '\n');
  }

  warn(msg: string, fields?: Fields): void {
    this.write('warn', msg, fields);
  }

  info(msg: string, fields?: Fields): void {
    this.write('info', msg, fields);
  }

  debug(msg: string, fields?: Fields): void {
    this.write('debug', msg, fields);
  }

  private write(level: Level, msg: string, fields?: Fields): void {
    if (!this.isLevelEnabled(level)) return;
    if (this.opts.format === 'json') {
      const p = this.getPino();
      if (p) {
        try {
          p[level](fields ?? {}, msg);
          return;
        } catch {
          this.broken = true;
        }
      }
      // The log file cannot be written: say so on stderr instead of losing the line.
      writeFd(2, jsonLine(level, msg, fields));
      return;
    }
    const line = formatText(level, msg, fields);
    if (this.toStderr) {
      writeFd(2, line);
      return;
    }
    try {
      const fd = fs.openSync(this.opts.file!, fs.constants.O_WRONLY | fs.constants.O_APPEND | fs.constants.O_CREAT, 0o644);
      try {
        fs.writeSync(fd, line);
      } finally {
        fs.closeSync(fd);
      }
    } catch {
      writeFd(2, line);
    }
  }

  private getPino(): PinoLike | undefined {
    if (this.pino || this.broken) return this.pino;
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const pino = require('pino') as typeof import('pino');
      const dest = this.toStderr
        ? pino.destination({ dest: 2, sync: true })
        : pino.destination({ dest: this.opts.file!, sync: true, append: true, mkdir: false });
      this.pino = pino(
        {
          level: 'debug',
          base: undefined,
          messageKey: 'msg',
          timestamp: pino.stdTimeFunctions.isoTime,
          formatters: { level: (label: string) => ({ level: label === 'warn' ? 'warning' : label }) },
        },
        dest,
      ) as unknown as PinoLike;
    } catch {
      this.broken = true;
    }
    return this.pino;
  }
}

/** The JSON line, built by hand: used only when pino or the file fails. */
function jsonLine(level: Level, msg: string, fields?: Fields): string {
  return JSON.stringify({ level: LOGRUS_NAME[level], time: rfc3339(), ...(fields ?? {}), msg }) + '\n';
}

/**
 * Synchronous write of a whole string. Retries EAGAIN (someone else's
 * O_NONBLOCK on a shared pipe) for up to ~5 s; gives up silently on other
 * errors (a closed stderr must not turn a result into a crash).
 */
export function writeFd(fd: number, s: string): void {
  const buf = Buffer.from(s);
  let off = 0;
  let retries = 0;
  while (off < buf.length) {
    try {
      off += fs.writeSync(fd, buf, off);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EAGAIN' || ++retries > 5000) return;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1);
    }
  }
}

let current: Logger = new Logger({ format: 'text', level: 'info' });

/** Set up by main.ts from the globals; library code calls getLogger(). */
export function configureLogger(opts: LoggerOptions): Logger {
  current = new Logger(opts);
  return current;
}

export function getLogger(): Logger {
  return current;
}
