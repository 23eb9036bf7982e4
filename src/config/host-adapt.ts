/**
 * What a valid config asks for that this host cannot give, where the spec
 * or the reference runtimes say to warn and go on rather than fail. Applied
 * to the config in place after the semantic checks (so the state record and
 * `exec` see what actually runs); returns the warnings for create to log.
 */
import { dropUngrantable, grantableMask } from '../plan/capabilities';
import { selinuxEnabled } from '../lifecycle/host-extras';
import type { Spec } from './types';

export interface HostFacts {
  selinux: boolean;
  /** grantableMask(inUserNs) */
  grantable: (inUserNs: boolean) => bigint;
}

export function adaptToHost(config: Spec, host: Partial<HostFacts> = {}): string[] {
  const warnings: string[] = [];
  const linux = config.linux;
  // crun: a mount label without SELinux is dropped with a warning (there is nothing to label with).
  if (linux?.mountLabel && !(host.selinux ?? selinuxEnabled())) {
    warnings.push(`linux.mountLabel: SELinux is not enabled on this host, label ${JSON.stringify(linux.mountLabel)} ignored`);
    delete linux.mountLabel;
  }
  // runtime-spec 1.3.0: capabilities that cannot be granted are warned about and dropped.
  const inUserNs = (linux?.namespaces ?? []).some((n) => n.type === 'user');
  const grantable = (host.grantable ?? grantableMask)(inUserNs);
  warnings.push(...dropUngrantable(config.process?.capabilities, grantable, 'process.capabilities', false));
  return warnings;
}
