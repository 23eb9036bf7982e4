/**
 * Where in runtime-spec v1.3.0 a config.json field is defined: the longest
 * matching JSON-pointer prefix names the section (the spec's own anchors,
 * `<a name="configLinuxMemory" />`), so `tsrun validate` can point each
 * problem at the rule it breaks.
 */
export const SPEC_BASE = 'https://github.com/opencontainers/runtime-spec/blob/v1.3.0/';

/** [JSON-pointer prefix, document, anchor]; the longest prefix wins. */
const SECTIONS: ReadonlyArray<readonly [string, string, string]> = [
  ['/', 'config.md', 'configuration'],
  ['/ociVersion', 'config.md', 'configSpecificationVersion'],
  ['/root', 'config.md', 'configRoot'],
  ['/mounts', 'config.md', 'configMounts'],
  ['/mounts/*/options', 'config.md', 'configLinuxMountOptions'],
  ['/process', 'config.md', 'configProcess'],
  ['/process/rlimits', 'config.md', 'configPOSIXProcess'],
  ['/process/user', 'config.md', 'configPOSIXUser'],
  ['/process/capabilities', 'config.md', 'configLinuxProcess'],
  ['/process/apparmorProfile', 'config.md', 'configLinuxProcess'],
  ['/process/selinuxLabel', 'config.md', 'configLinuxProcess'],
  ['/process/noNewPrivileges', 'config.md', 'configLinuxProcess'],
  ['/process/oomScoreAdj', 'config.md', 'configLinuxProcess'],
  ['/process/scheduler', 'config.md', 'configLinuxProcess'],
  ['/process/ioPriority', 'config.md', 'configLinuxProcess'],
  ['/process/execCPUAffinity', 'config.md', 'configLinuxProcess'],
  ['/hostname', 'config.md', 'configHostname'],
  ['/domainname', 'config.md', 'configDomainname'],
  ['/hooks', 'config.md', 'configHooks'],
  ['/hooks/prestart', 'config.md', 'configHooksPrestart'],
  ['/hooks/createRuntime', 'config.md', 'configHooksCreateRuntime'],
  ['/hooks/createContainer', 'config.md', 'configHooksCreateContainer'],
  ['/hooks/startContainer', 'config.md', 'configHooksStartContainer'],
  ['/hooks/poststart', 'config.md', 'configHooksPoststart'],
  ['/hooks/poststop', 'config.md', 'configHooksPoststop'],
  ['/annotations', 'config.md', 'configAnnotations'],
  ['/linux', 'config-linux.md', 'linuxContainerConfiguration'],
  ['/linux/namespaces', 'config-linux.md', 'configLinuxNamespaces'],
  ['/linux/uidMappings', 'config-linux.md', 'configLinuxUserNamespaceMappings'],
  ['/linux/gidMappings', 'config-linux.md', 'configLinuxUserNamespaceMappings'],
  ['/linux/timeOffsets', 'config-linux.md', 'configLinuxTimeOffset'],
  ['/linux/devices', 'config-linux.md', 'configLinuxDevices'],
  ['/linux/netDevices', 'config-linux.md', 'configLinuxNetworkDevices'],
  ['/linux/cgroupsPath', 'config-linux.md', 'configLinuxCgroupsPath'],
  ['/linux/resources', 'config-linux.md', 'configLinuxControlGroups'],
  ['/linux/resources/devices', 'config-linux.md', 'configLinuxDeviceAllowedlist'],
  ['/linux/resources/memory', 'config-linux.md', 'configLinuxMemory'],
  ['/linux/resources/cpu', 'config-linux.md', 'configLinuxCPU'],
  ['/linux/resources/blockIO', 'config-linux.md', 'configLinuxBlockIO'],
  ['/linux/resources/hugepageLimits', 'config-linux.md', 'configLinuxHugePageLimits'],
  ['/linux/resources/network', 'config-linux.md', 'configLinuxNetwork'],
  ['/linux/resources/pids', 'config-linux.md', 'configLinuxPIDS'],
  ['/linux/resources/rdma', 'config-linux.md', 'configLinuxRDMA'],
  ['/linux/resources/unified', 'config-linux.md', 'configLinuxUnified'],
  ['/linux/intelRdt', 'config-linux.md', 'configLinuxIntelRdt'],
  ['/linux/memoryPolicy', 'config-linux.md', 'configLinuxMemoryPolicy'],
  ['/linux/sysctl', 'config-linux.md', 'configLinuxSysctl'],
  ['/linux/seccomp', 'config-linux.md', 'configLinuxSeccomp'],
  ['/linux/rootfsPropagation', 'config-linux.md', 'configLinuxRootfsMountPropagation'],
  ['/linux/maskedPaths', 'config-linux.md', 'configLinuxMaskedPaths'],
  ['/linux/readonlyPaths', 'config-linux.md', 'configLinuxReadonlyPaths'],
  ['/linux/mountLabel', 'config-linux.md', 'configLinuxMountLabel'],
  ['/linux/personality', 'config-linux.md', 'configLinuxPersonality'],
];

function matches(pointer: string, prefix: string): boolean {
  if (prefix === '/') return true;
  const p = pointer.split('/');
  const q = prefix.split('/');
  if (q.length > p.length) return false;
  return q.every((seg, i) => seg === '*' || seg === p[i]);
}

/** The spec section (URL with anchor) that defines the field at `pointer`. */
export function specLink(pointer: string): string {
  let best = SECTIONS[0];
  for (const s of SECTIONS) if (matches(pointer, s[0]) && s[0].split('/').length >= best[0].split('/').length && s[0] !== '/') best = s;
  return `${SPEC_BASE}${best[1]}#${best[2]}`;
}

/**
 * `linux.namespaces[2].path` (the semantic checks' field names) → `/linux/namespaces/2/path`.
 * A leading word that is not a field path gives "/".
 */
export function fieldToPointer(field: string): string {
  if (!/^[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z0-9_]+|\[\d+\]|\["[^"]*"\])*$/.test(field)) return '/';
  const parts: string[] = [];
  const re = /([A-Za-z0-9_]+)|\[(\d+)\]|\["([^"]*)"\]/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(field))) parts.push((m[1] ?? m[2] ?? m[3]).replace(/~/g, '~0').replace(/\//g, '~1'));
  return '/' + parts.join('/');
}
