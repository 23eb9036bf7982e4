/**
 * OCI hooks (config.md "POSIX-platform Hooks", runtime.md "Lifecycle").
 *
 * Where each kind runs in tsrun:
 *   prestart, createRuntime  create: the helper pauses at OP_RUNTIME_HOOKS (MSG_HOOKS) after
 *                            the namespaces and mounts exist, before pivot_root; they run
 *                            here, in Node, in the runtime namespace; then MSG_HOOKS_DONE.
 *   createContainer          create: OP_HOOK, fork+exec'd by the helper in the container's
 *                            namespaces before pivot_root (path resolves in the runtime's tree).
 *   startContainer           start: OP_HOOK after the exec fifo released the helper, in the
 *                            container (path resolved there), before the user's execve.
 *   poststart                start: here, after the status fifo shows the user's process was
 *                            exec'd; a failure kills the container and fails `start` (v1.3.0).
 *   poststop                 delete (and create's rollback): here, after the container is
 *                            destroyed; a failure is a warning.
 * Each hook gets the state JSON on stdin, exactly its `env`, args[0] as argv[0], and is
 * SIGKILLed after `timeout` seconds.
 */
import { TsrunError } from '../errors';
import type { Hook, Hooks } from '../config/types';

export type HookStage = keyof Hooks;

export interface HookState {
  ociVersion: string;
  id: string;
  status: 'creating' | 'created' | 'running' | 'stopped';
  pid?: number;
  bundle: string;
  annotations?: Record<string, string>;
}

/** The state object in the spec's key order. */
export function stateJson(s: HookState): string {
  const o: Record<string, unknown> = { ociVersion: s.ociVersion, id: s.id, status: s.status };
  if (s.pid !== undefined) o.pid = s.pid;
  o.bundle = s.bundle;
  o.annotations = s.annotations ?? {};
  return JSON.stringify(o);
}

/** The env list as an object (a later duplicate wins). */
function envObject(env: readonly string[] | undefined): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = {};
  for (const e of env ?? []) {
    const i = e.indexOf('=');
    if (i > 0) out[e.slice(0, i)] = e.slice(i + 1);
  }
  return out;
}

function oneLine(s: string, max = 300): string {
  const t = s.replace(/\s+/g, ' ').trim();
  return t.length > max ? `…${t.slice(-max)}` : t;
}

/** Runs one hook in the runtime namespace; throws TsrunError when it fails or times out. */
export function runHook(stage: HookStage, index: number, hook: Hook, state: HookState): void {
  const args = hook.args ?? [];
  // child_process is loaded only when a hook really runs: start and delete are hot paths.
  const { spawnSync } = require('node:child_process') as typeof import('node:child_process');
  const r = spawnSync(hook.path, args.slice(1), {
    argv0: args[0] ?? hook.path,
    env: envObject(hook.env),
    input: stateJson(state),
    stdio: ['pipe', 'pipe', 'pipe'],
    timeout: hook.timeout !== undefined && hook.timeout > 0 ? hook.timeout * 1000 : undefined,
    killSignal: 'SIGKILL',
    maxBuffer: 4 * 1024 * 1024,
  });
  // runc's words first ("error running hook"): callers and runc's own suite match on them.
  const where = `error running hook: ${stage} hook #${index} ${hook.path}`;
  const output = oneLine(`${r.stdout?.toString() ?? ''} ${r.stderr?.toString() ?? ''}`);
  const out = output ? `, output: ${output}` : '';
  // A hook that does not read its stdin makes the write fail with EPIPE: not a failure by itself.
  const err = (r.error as NodeJS.ErrnoException | undefined)?.code === 'EPIPE' && r.status !== null ? undefined : (r.error as NodeJS.ErrnoException | undefined);
  if (err?.code === 'ETIMEDOUT') throw new TsrunError(`${where}: timed out after ${hook.timeout} s${out}`);
  if (err) throw new TsrunError(`${where}: ${err.message}`);
  if (r.signal) throw new TsrunError(`${where}: killed by ${r.signal}${out}`);
  if (r.status !== 0) throw new TsrunError(`${where}: exit status ${r.status}${out}`);
}

/** Runs the hooks of one stage in order; the first failure throws. */
export function runHooks(stage: HookStage, hooks: Hooks | undefined, state: HookState): void {
  (hooks?.[stage] ?? []).forEach((h, i) => runHook(stage, i, h, state));
}

/** poststop: every hook runs; failures are only warnings (runtime.md step 13). */
export function runPoststopHooks(hooks: Hooks | undefined, state: HookState, warn: (msg: string) => void): void {
  (hooks?.poststop ?? []).forEach((h, i) => {
    try {
      runHook('poststop', i, h, state);
    } catch (e) {
      warn(`${(e as Error).message} (ignored: poststop hooks only warn)`);
    }
  });
}

export function hasHooks(hooks: Hooks | undefined, ...stages: HookStage[]): boolean {
  return stages.some((s) => (hooks?.[s]?.length ?? 0) > 0);
}
