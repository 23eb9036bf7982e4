/**
 * Plan steps for the hooks the helper runs (addon/common/plan_wire.h ops 50-52):
 * the pause for prestart/createRuntime, the createContainer and startContainer
 * OP_HOOKs, and the status fifo `start` waits on.
 */
import type { Hook, Hooks } from '../config/types';
import { Op, PlanStep } from './ops';

export interface HookPlanContext {
  hooks?: Hooks;
  ociVersion: string;
  id: string;
  bundle: string;
  annotations?: Record<string, string>;
  /** Host path of the status fifo, when `start` must wait for the exec. */
  statusFifoPath?: string;
}

/** OP_HOOK for one hook: the state JSON is split around the pid, which only the helper knows. */
export function hookStep(stage: string, hook: Hook, ctx: HookPlanContext, status: 'creating' | 'created'): PlanStep {
  const head = JSON.stringify({ ociVersion: ctx.ociVersion, id: ctx.id, status });
  const tail = JSON.stringify({ bundle: ctx.bundle, annotations: ctx.annotations ?? {} });
  const prefix = `${head.slice(0, -1)},"pid":`;
  const suffix = `,${tail.slice(1)}`;
  const args = hook.args ?? [];
  return {
    op: Op.Hook,
    fields: [stage, hook.path, String(hook.timeout ?? 0), prefix, suffix, String(args.length), ...args, ...(hook.env ?? [])],
  };
}

/** Before pivot_root: status fifo, the runtime-hooks pause, createContainer hooks. */
export function createHookSteps(ctx: HookPlanContext): PlanStep[] {
  const h = ctx.hooks ?? {};
  const out: PlanStep[] = [];
  if (ctx.statusFifoPath) out.push({ op: Op.OpenStatusFifo, fields: [ctx.statusFifoPath] });
  if ((h.prestart?.length ?? 0) + (h.createRuntime?.length ?? 0) > 0) out.push({ op: Op.RuntimeHooks, fields: [] });
  for (const hook of h.createContainer ?? []) out.push(hookStep('createContainer', hook, ctx, 'creating'));
  return out;
}

/** After OP_READY (start was called), before the user's execve. */
export function startHookSteps(ctx: HookPlanContext): PlanStep[] {
  return (ctx.hooks?.startContainer ?? []).map((hook) => hookStep('startContainer', hook, ctx, 'created'));
}
