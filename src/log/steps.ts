/**
 * Step timing for `--debug` / `--log-level debug`: one log line per step of a
 * command, with its duration, so "why is this container slow to start" has an
 * answer. With debug off, `stepClock` returns a shared no-op: no clock read,
 * no string built.
 */
import { getLogger } from './logger';

export interface StepClock {
  /** Logs the time since the previous mark (or since the clock started) as `step`. */
  mark(step: string): void;
  /** Logs a duration measured elsewhere (the init's own stages). */
  record(step: string, ms: number): void;
  /** Whether marks are logged at all (callers may skip gathering extra data). */
  readonly enabled: boolean;
}

const OFF: StepClock = { mark() {}, record() {}, enabled: false };

export function stepClock(command: string): StepClock {
  const log = getLogger();
  if (!log.isLevelEnabled('debug')) return OFF;
  let last = process.hrtime.bigint();
  const emit = (step: string, ms: number) => log.debug(`${command}: ${step} took ${ms.toFixed(2)} ms`, { command, step, ms: Number(ms.toFixed(3)) });
  return {
    enabled: true,
    mark(step) {
      const now = process.hrtime.bigint();
      emit(step, Number(now - last) / 1e6);
      last = now;
    },
    record: emit,
  };
}
