/**
 * The config.json that `tsrun spec` writes: runc's template, with empty
 * inheritable and ambient capability sets (CVE-2022-29162).
 */
export const SPEC_VERSION = '1.3.0';

const DEFAULT_CAPS = ['CAP_AUDIT_WRITE', 'CAP_KILL', 'CAP_NET_BIND_SERVICE'];

export interface SpecOptions {
  /** Write a config for an unprivileged user (user namespace mapping that user). */
  rootless?: { uid: number; gid: number };
  args?: string[];
  terminal?: boolean;
}

export function defaultSpec(opts: SpecOptions = {}): Record<string, unknown> {
  const spec = {
    ociVersion: SPEC_VERSION,
    process: {
      terminal: opts.terminal ?? true,
      user: { uid: 0, gid: 0 },
      args: opts.args ?? ['sh'],
      env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'TERM=xterm'],
      cwd: '/',
      capabilities: {
        bounding: [...DEFAULT_CAPS],
        effective: [...DEFAULT_CAPS],
        permitted: [...DEFAULT_CAPS],
      },
      rlimits: [{ type: 'RLIMIT_NOFILE', hard: 1024, soft: 1024 }],
      noNewPrivileges: true,
    },
    root: { path: 'rootfs', readonly: true },
    hostname: 'tsrun',
    mounts: [
      { destination: '/proc', type: 'proc', source: 'proc' },
      { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
      {
        destination: '/dev/pts',
        type: 'devpts',
        source: 'devpts',
        options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'],
      },
      { destination: '/dev/shm', type: 'tmpfs', source: 'shm', options: ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=65536k'] },
      { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
      { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] },
      { destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: ['nosuid', 'noexec', 'nodev', 'relatime', 'ro'] },
    ],
    linux: {
      resources: { devices: [{ allow: false, access: 'rwm' }] },
      namespaces: [{ type: 'pid' }, { type: 'network' }, { type: 'ipc' }, { type: 'uts' }, { type: 'mount' }],
      maskedPaths: [
        '/proc/acpi',
        '/proc/asound',
        '/proc/kcore',
        '/proc/keys',
        '/proc/latency_stats',
        '/proc/timer_list',
        '/proc/timer_stats',
        '/proc/sched_debug',
        '/sys/firmware',
        '/proc/scsi',
      ],
      readonlyPaths: ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'],
    } as Record<string, unknown>,
  };
  if (opts.rootless) {
    const { uid, gid } = opts.rootless;
    spec.linux.namespaces = [{ type: 'pid' }, { type: 'ipc' }, { type: 'uts' }, { type: 'mount' }, { type: 'user' }];
    spec.linux.uidMappings = [{ containerID: 0, hostID: uid, size: 1 }];
    spec.linux.gidMappings = [{ containerID: 0, hostID: gid, size: 1 }];
    delete spec.linux.resources;
    // Without a network namespace sysfs cannot be mounted; bind the host's, as runc's rootless spec does.
    spec.mounts = spec.mounts
      .filter((m) => m.type !== 'mqueue' && m.type !== 'cgroup')
      .map((m) =>
        m.type === 'sysfs'
          ? { destination: '/sys', type: 'none', source: '/sys', options: ['rbind', 'nosuid', 'noexec', 'nodev', 'ro'] }
          : m.destination === '/dev/pts'
            ? { ...m, options: (m.options ?? []).filter((o) => o !== 'gid=5') }
            : m,
      );
  }
  return spec;
}
