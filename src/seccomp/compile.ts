/**
 * linux.seccomp → classic BPF, in the parent, once per create (or exec):
 * validate (profile.ts), check the kernel has every action and flag used
 * (features.ts), then libseccomp compiles and exports the filter
 * (addon/spawn/seccomp.cc). The helper only loads the bytes.
 */
import { TsrunError } from '../errors';
import type { Seccomp } from '../config/types';
import { seccompHost } from './features';
import { seccompAddon, rethrowNative } from './native';
import { FLAGS, type NormalizedProfile, normalizeProfile } from './profile';

export interface CompiledSeccomp {
  /** struct sock_filter[]: OP_SECCOMP's program field. */
  program: Buffer;
  /** SECCOMP_FILTER_FLAG_* for seccomp(2) (NEW_LISTENER is added by the helper when notifying). */
  flags: number;
  instructions: number;
  /** Unknown syscall names, skipped as runc does. */
  skipped: string[];
  /** Instructions of the -ENOSYS stub (runc's patchbpf) before libseccomp's filter; 0 without. */
  stubInstructions: number;
  /** The filter has NOTIFY rules: the plan needs a listener and a state. */
  notify: boolean;
  listenerPath?: string;
  listenerMetadata: string;
  /** Debug notes (ignored fields, rules equal to the default). */
  notes: string[];
  /** Wall time of validation + probe + libseccomp, in ms. */
  compileMs: number;
}

export interface CompileOptions {
  /** SCMP_FLTATR_CTL_OPTIMIZE (default 2: binary tree, cheaper per syscall on big profiles). */
  optimize?: number;
}

/** Validates and compiles a profile; throws TsrunError before anything is created. */
export function compileSeccomp(profile: Seccomp, opts: CompileOptions = {}): CompiledSeccomp {
  // process.hrtime, not perf_hooks: loading perf_hooks costs ~1.3 ms of a create.
  const t0 = process.hrtime.bigint();
  const p: NormalizedProfile = normalizeProfile(profile);
  const host = seccompHost();
  if (host.library === null) throw new TsrunError(`linux.seccomp: ${host.error ?? 'libseccomp.so.2 is not available'}`);
  for (const a of p.actionNames) {
    if (!host.actions.includes(a)) throw new TsrunError(`linux.seccomp: action ${a} is not supported by this kernel`);
  }
  let flags = 0;
  for (const f of p.flagNames) {
    if (!host.flags.includes(f)) throw new TsrunError(`linux.seccomp.flags: ${f} is not supported by this kernel`);
    flags |= FLAGS[f];
  }
  // The helper is single-threaded, so TSYNC is a no-op; the kernel refuses it
  // together with NEW_LISTENER (unless TSYNC_ESRCH), so drop it there.
  if (p.notify) flags &= ~FLAGS.SECCOMP_FILTER_FLAG_TSYNC;
  // WAIT_KILLABLE_RECV only means something with a listener; the kernel refuses it alone.
  if (!p.notify && flags & FLAGS.SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV) {
    flags &= ~FLAGS.SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV;
    p.notes.push('SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV ignored: no rule uses SCMP_ACT_NOTIFY');
  }
  let native;
  try {
    native = seccompAddon().seccompCompile({
      defaultAction: p.defaultAction,
      archs: p.archs,
      optimize: opts.optimize ?? 2,
      rules: p.rules,
      ...(p.enosysStub ? { enosys: { names: p.names } } : {}),
    });
  } catch (e) {
    rethrowNative(e);
  }
  return {
    program: native.program,
    flags,
    instructions: native.program.length / 8,
    skipped: native.skipped,
    stubInstructions: native.stubInstructions,
    notify: p.notify,
    listenerPath: p.listenerPath,
    listenerMetadata: p.listenerMetadata,
    notes: p.notes,
    compileMs: Number(process.hrtime.bigint() - t0) / 1e6,
  };
}
