/**
 * linux.seccomp (issue 5). Entry points:
 *
 *   compileSeccomp(profile)           validate + compile to BPF in the parent (compile.ts)
 *   seccompPlanSteps(compiled, nnp)   the OP_SECCOMP(/LISTENER) steps and where they go (plan.ts)
 *   bindSeccompState(steps, c, state) fill the agent's state once the pid is known (NOTIFY)
 *   seccompFeatures()                 features-linux.json "seccomp" (features.ts)
 *   prepareSeccomp(config, log)       all of the above that create needs, with debug logs
 */
import type { Spec } from '../config/types';
import { type CompiledSeccomp, compileSeccomp } from './compile';
import { type SeccompAgentState, type SeccompPlanSteps, bindSeccompState, seccompPlanSteps } from './plan';

export { compileSeccomp, type CompiledSeccomp, type CompileOptions } from './compile';
export { seccompFeatures, type SeccompFeatures } from './features';
export { normalizeProfile, ACTIONS, ARCHS, FLAGS, OPERATORS } from './profile';
export {
  bindSeccompState,
  containerProcessState,
  seccompPlanSteps,
  type SeccompAgentState,
  type SeccompPlanSteps,
} from './plan';

export interface PreparedSeccomp {
  compiled: CompiledSeccomp;
  steps: SeccompPlanSteps;
  /** Call with the container's host pid before the plan is sent. */
  bind(state: SeccompAgentState): void;
}

interface DebugLog {
  debug(msg: string): void;
}

/**
 * For create: undefined without linux.seccomp, else the compiled filter and
 * its plan steps. Throws (TsrunError) on a bad profile, before anything exists.
 */
export function prepareSeccomp(config: Spec, log?: DebugLog): PreparedSeccomp | undefined {
  const profile = config.linux?.seccomp;
  if (!profile) return undefined;
  const compiled = compileSeccomp(profile);
  for (const name of compiled.skipped) log?.debug(`seccomp: ignoring unknown syscall "${name}"`);
  for (const note of compiled.notes) log?.debug(`seccomp: ${note}`);
  log?.debug(`seccomp: ${compiled.instructions} BPF instructions compiled in ${compiled.compileMs.toFixed(2)} ms`);
  const steps = seccompPlanSteps(compiled, config.process?.noNewPrivileges === true);
  return { compiled, steps, bind: (state) => bindSeccompState(steps, compiled, state) };
}
