/** Linux capability names ↔ bit numbers (linux/capability.h); what the host can grant. */
import * as fs from 'node:fs';
import type { Capabilities } from '../config/types';

export const CAPABILITIES = [
  'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_DAC_READ_SEARCH', 'CAP_FOWNER', 'CAP_FSETID', 'CAP_KILL', 'CAP_SETGID',
  'CAP_SETUID', 'CAP_SETPCAP', 'CAP_LINUX_IMMUTABLE', 'CAP_NET_BIND_SERVICE', 'CAP_NET_BROADCAST', 'CAP_NET_ADMIN',
  'CAP_NET_RAW', 'CAP_IPC_LOCK', 'CAP_IPC_OWNER', 'CAP_SYS_MODULE', 'CAP_SYS_RAWIO', 'CAP_SYS_CHROOT', 'CAP_SYS_PTRACE',
  'CAP_SYS_PACCT', 'CAP_SYS_ADMIN', 'CAP_SYS_BOOT', 'CAP_SYS_NICE', 'CAP_SYS_RESOURCE', 'CAP_SYS_TIME',
  'CAP_SYS_TTY_CONFIG', 'CAP_MKNOD', 'CAP_LEASE', 'CAP_AUDIT_WRITE', 'CAP_AUDIT_CONTROL', 'CAP_SETFCAP',
  'CAP_MAC_OVERRIDE', 'CAP_MAC_ADMIN', 'CAP_SYSLOG', 'CAP_WAKE_ALARM', 'CAP_BLOCK_SUSPEND', 'CAP_AUDIT_READ',
  'CAP_PERFMON', 'CAP_BPF', 'CAP_CHECKPOINT_RESTORE',
] as const;

const INDEX = new Map<string, number>(CAPABILITIES.map((c, i) => [c, i]));

export function capabilityNumber(name: string): number | undefined {
  return INDEX.get(name);
}

/**
 * Bit mask of the known names. Unknown names are skipped and returned so the
 * caller can warn, as runc does.
 */
export function capabilityMask(names: readonly string[] | undefined): { mask: bigint; unknown: string[] } {
  let mask = 0n;
  const unknown: string[] = [];
  for (const n of names ?? []) {
    const i = INDEX.get(n);
    if (i === undefined) unknown.push(n);
    else mask |= 1n << BigInt(i);
  }
  return { mask, unknown };
}

export function maskHex(mask: bigint): string {
  return mask.toString(16).padStart(16, '0');
}

const SETS = ['bounding', 'effective', 'permitted', 'inheritable', 'ambient'] as const;

/**
 * The capabilities a container process can be given on this host, as a bit
 * mask. Without a user namespace: tsrun's own bounding set (the init is
 * exec'd as root, so its permitted set is that bounding set; a bit outside it
 * can never be raised). In a user namespace (new or joined) the kernel gives
 * the process a full bounding set there, so every capability the kernel
 * knows (cap_last_cap) can be granted. `statusText`/`lastCap` are for tests.
 */
export function grantableMask(inUserNs: boolean, statusText?: string, lastCap?: number): bigint {
  let last = lastCap;
  if (last === undefined) {
    try {
      last = Number(fs.readFileSync('/proc/sys/kernel/cap_last_cap', 'utf8').trim());
    } catch {
      last = CAPABILITIES.length - 1;
    }
    if (!Number.isInteger(last) || last < 0) last = CAPABILITIES.length - 1;
  }
  const known = (1n << BigInt(last + 1)) - 1n;
  if (inUserNs) return known;
  let text = statusText;
  if (text === undefined) {
    try {
      text = fs.readFileSync('/proc/self/status', 'utf8');
    } catch {
      return known; // no /proc: let the kernel decide, as before
    }
  }
  const m = /^CapBnd:\s*([0-9a-fA-F]+)$/m.exec(text);
  return m ? BigInt(`0x${m[1]}`) & known : known;
}

/**
 * runtime-spec 1.3.0 (config.md, process.capabilities): a capability the
 * runtime cannot grant (an unknown name, or one the host does not let it
 * give) MUST be logged as a warning and SHOULD NOT fail the container. Drops
 * such names from every set of `caps`, in place; returns one warning per
 * name and set, naming where it was (`where`, e.g. "process.capabilities");
 * `warnUnknown` false when the semantic checks already warned about unknown names.
 */
export function dropUngrantable(caps: Capabilities | undefined, grantable: bigint, where: string, warnUnknown = true): string[] {
  const warnings: string[] = [];
  if (!caps) return warnings;
  for (const set of SETS) {
    const names = caps[set];
    if (!names) continue;
    const keep: string[] = [];
    for (const n of names) {
      const i = INDEX.get(n);
      if (i === undefined) {
        if (warnUnknown) warnings.push(`${where}.${set}: unknown capability ${JSON.stringify(n)}, ignored`);
      }
      else if ((grantable & (1n << BigInt(i))) === 0n) {
        warnings.push(`${where}.${set}: ${n} cannot be granted on this host (not in the runtime's bounding set or unknown to the kernel), dropped`);
      } else keep.push(n);
    }
    if (keep.length !== names.length) caps[set] = keep;
  }
  return warnings;
}
