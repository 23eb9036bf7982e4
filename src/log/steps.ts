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

/**
 * runc's debug messages for its equivalent stages, logged after the step that completes them:
 * runc's own suite (debug.bats, exec.bats) and people reading both runtimes' logs look for them.
 */
const RUNC_STAGES: Readonly<Record<string, readonly string[]>> = {
  'create:spawned': ['nsexec container setup (tsrun-init cloned into the namespaces)'],
  'create:plan-sent': ['child process in init() (tsrun-init applies the plan)'],
  'create:ready': ['init: closing the pipe to signal completion (tsrun-init is ready, waiting for start)'],
  'exec:joined (cgroups, namespaces, fork)': ['nsexec container setup (exec helper joined the container)', 'child process in init() (exec helper applies the plan)'],
  "exec:process set up and exec'd": ["setns_init: about to exec (the process has exec'd)"],
};

const OFF: StepClock = { mark() {}, record() {}, enabled: false };

export function stepClock(command: string): StepClock {
  const log = getLogger();
  if (!log.isLevelEnabled('debug')) return OFF;
  let last = process.hrtime.bigint();
  const emit = (step: string, ms: number) => {
    log.debug(`${command}: ${step} took ${ms.toFixed(2)} ms`, { command, step, ms: Number(ms.toFixed(3)) });
    for (const m of RUNC_STAGES[`${command}:${step}`] ?? []) log.debug(m, { command, step });
  };
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
