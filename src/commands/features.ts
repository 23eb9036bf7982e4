/**
 * `tsrun features`: the features document (features.md, features-linux.md)
 * of what this tsrun really implements. Each list is derived from the code
 * that implements it (mount option parser, capability table, plan tables),
 * so it cannot claim more than the runtime does. As the spec says, it
 * describes the runtime, not the host: apparmor/selinux/intelRdt say that
 * tsrun applies them, whether or not this host has the LSM or resctrl.
 */
import type { CommandRun } from '../cli/types';
import { writeFd } from '../log/logger';
import { CAPABILITIES } from '../plan/capabilities';
import { parseMountOptions } from '../plan/mount-options';
import { MPOL_FLAGS, MPOL_MODES } from '../plan/process-extras';
import { NAMESPACE_TYPES } from '../config/semantic';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { SPEC_VERSION } from '../spec/default';
import { seccompFeatures } from '../seccomp';

/** Mount options runc knows; tsrun lists those its parser consumes (the rest would go to mount(2) as data). */
const CANDIDATE_MOUNT_OPTIONS = [
  'acl', 'async', 'atime', 'bind', 'defaults', 'dev', 'diratime', 'dirsync', 'exec', 'idmap', 'iversion', 'lazytime',
  'loud', 'mand', 'noacl', 'noatime', 'nodev', 'nodiratime', 'noexec', 'noiversion', 'nolazytime', 'nomand',
  'norelatime', 'nostrictatime', 'nosuid', 'nosymfollow', 'private', 'ratime', 'rbind', 'rdev', 'rdiratime',
  'relatime', 'remount', 'rexec', 'ridmap', 'rnoatime', 'rnodev', 'rnodiratime', 'rnoexec', 'rnorelatime',
  'rnostrictatime', 'rnosuid', 'rnosymfollow', 'ro', 'rprivate', 'rrelatime', 'rro', 'rrw', 'rshared', 'rslave',
  'rstrictatime', 'rsuid', 'rsymfollow', 'runbindable', 'rw', 'shared', 'silent', 'slave', 'strictatime', 'suid',
  'symfollow', 'sync', 'tmpcopyup', 'unbindable',
];

/** Options the mount option parser consumes (a known flag, propagation or recursive attribute). */
export function supportedMountOptions(): string[] {
  return CANDIDATE_MOUNT_OPTIONS.filter((o) => {
    try {
      return parseMountOptions([o], 'features').data === '';
    } catch {
      return false;
    }
  }).sort();
}

/** The six hook kinds tsrun runs (src/hooks, plan/hooks.ts). */
export const HOOKS = ['prestart', 'createRuntime', 'createContainer', 'startContainer', 'poststart', 'poststop'];

/** idmap/ridmap mount options are parsed and planned (mount_setattr with MOUNT_ATTR_IDMAP). */
function idmapSupported(): boolean {
  return parseMountOptions(['idmap'], 'features').idmap === 'idmap';
}

/** tsrun's version, from package.json (src/cli/main.ts runs the CLI when imported). */
function tsrunVersion(): string {
  try {
    return (JSON.parse(fs.readFileSync(path.join(__dirname, '../../../package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

export function buildFeatures(): Record<string, unknown> {
  const doc: Record<string, unknown> = {
    ociVersionMin: '1.0.0',
    ociVersionMax: SPEC_VERSION,
  };
  doc.hooks = HOOKS;
  doc.mountOptions = supportedMountOptions();
  doc.linux = {
    namespaces: [...NAMESPACE_TYPES].sort(),
    capabilities: [...CAPABILITIES],
    cgroup: { v1: true, v2: true, systemd: false, systemdUser: false, rdma: true },
    seccomp: seccompFeatures(),
    apparmor: { enabled: true },
    selinux: { enabled: true },
    intelRdt: { enabled: true, schemata: true, monitoring: true },
    memoryPolicy: { modes: Object.keys(MPOL_MODES), flags: Object.keys(MPOL_FLAGS) },
    mountExtensions: { idmap: { enabled: idmapSupported() } },
    netDevices: { enabled: true },
  };
  doc.annotations = {
    'org.opencontainers.tsrun.version': tsrunVersion(),
    'org.opencontainers.tsrun.spec': SPEC_VERSION,
  };
  // tsrun reads no annotation of config.json: none can change its behaviour.
  doc.potentiallyUnsafeConfigAnnotations = [];
  return doc;
}

export const run: CommandRun = () => {
  writeFd(1, JSON.stringify(buildFeatures(), null, '    ') + '\n');
  return 0;
};
