/**
 * What this host can do with linux.seccomp, for `tsrun features`
 * (features-linux.json "seccomp") and for compile-time checks: libseccomp
 * loaded with dlopen, actions the kernel reports with
 * SECCOMP_GET_ACTION_AVAIL, flags it accepts, architectures libseccomp knows.
 * Probed once per process.
 */
import { ACTIONS, ARCHS, FLAGS, OPERATORS } from './profile';
import { type NativeProbeResult, seccompAddon } from './native';

export interface SeccompFeatures {
  /** libseccomp is loadable: a profile can be compiled. */
  enabled: boolean;
  /** Spec action names usable here (library + kernel). */
  actions: string[];
  operators: string[];
  /** Spec architecture names libseccomp knows. */
  archs: string[];
  /** Every flag tsrun understands. */
  knownFlags: string[];
  /** The flags this kernel accepts. */
  supportedFlags: string[];
}

export interface SeccompHostInfo extends NativeProbeResult {
  features: SeccompFeatures;
}

let probed: SeccompHostInfo | undefined;

/** The raw probe plus the features view; cached. */
export function seccompHost(): SeccompHostInfo {
  if (!probed) {
    const raw = seccompAddon().seccompProbe({ actions: ACTIONS, flags: FLAGS, archs: Object.values(ARCHS) });
    const enabled = raw.library !== null;
    const kernelActions = new Set(raw.actions);
    const libArchs = new Set(raw.archs);
    probed = {
      ...raw,
      features: {
        enabled,
        actions: enabled ? Object.keys(ACTIONS).filter((a) => kernelActions.has(a)) : [],
        operators: enabled ? Object.keys(OPERATORS) : [],
        archs: Object.entries(ARCHS).filter(([, lib]) => libArchs.has(lib)).map(([spec]) => spec),
        knownFlags: Object.keys(FLAGS),
        supportedFlags: enabled ? Object.keys(FLAGS).filter((f) => raw.flags.includes(f)) : [],
      },
    };
  }
  return probed;
}

/** features-linux.json "seccomp" for the features command. */
export function seccompFeatures(): SeccompFeatures {
  return seccompHost().features;
}
