/**
 * The seccomp half of the addon (addon/spawn/seccomp.cc): seccompCompile and
 * seccompProbe. Loaded on first use only (create with a profile, features),
 * from the same build/Release/tsrun_addon.node as src/native/addon.ts.
 */
import { TsrunError } from '../errors';
import { addonWith } from '../native/addon';
import type { SeccompRule } from './profile';

export interface NativeCompileRequest {
  defaultAction: number;
  archs: string[];
  /** SCMP_FLTATR_CTL_OPTIMIZE: 1 = priority order (libseccomp's default), 2 = binary tree. */
  optimize: number;
  rules: SeccompRule[];
  /** Prepend the -ENOSYS stub bounded by the highest number of these names per architecture. */
  enosys?: { names: string[] };
}

export interface NativeCompileResult {
  /** struct sock_filter[] as exported by seccomp_export_bpf. */
  program: Buffer;
  /** Syscall names libseccomp does not know (skipped). */
  skipped: string[];
  /** Instructions of the -ENOSYS stub at the start of program (0 without one). */
  stubInstructions: number;
}

export interface NativeProbeResult {
  /** libseccomp version ("2.5.4"), or null when libseccomp.so.2 cannot be loaded. */
  library: string | null;
  error?: string;
  apiLevel: number;
  nativeArch: number;
  /** Names (keys of the request) the kernel reports available / accepts. */
  actions: string[];
  flags: string[];
  /** libseccomp names the library knows. */
  archs: string[];
}

interface SeccompAddon {
  seccompCompile(req: NativeCompileRequest): NativeCompileResult;
  seccompProbe(req: { actions: Record<string, number>; flags: Record<string, number>; archs: string[] }): NativeProbeResult;
}

export function seccompAddon(): SeccompAddon {
  return addonWith<SeccompAddon>('seccomp', ['seccompCompile', 'seccompProbe']);
}

/** Re-throws an addon error as a TsrunError (message already has its context). */
export function rethrowNative(e: unknown): never {
  if (e instanceof TsrunError) throw e;
  const err = e as Error & { errno?: unknown };
  throw new TsrunError(err instanceof Error ? err.message : String(e), {
    errno: typeof err?.errno === 'number' ? err.errno : undefined,
    syscall: 'seccomp',
  });
}
