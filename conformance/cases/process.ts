/** The container process: namespaces, identity, capabilities, limits, environment (config.md "Process", config-linux.md). */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Case, check, Harness } from '../harness';

/** Capability numbers (linux/capability.h). */
const CAP_NUMBERS: Record<string, number> = {
  CAP_CHOWN: 0, CAP_DAC_OVERRIDE: 1, CAP_DAC_READ_SEARCH: 2, CAP_FOWNER: 3, CAP_FSETID: 4, CAP_KILL: 5, CAP_SETGID: 6,
  CAP_SETUID: 7, CAP_SETPCAP: 8, CAP_LINUX_IMMUTABLE: 9, CAP_NET_BIND_SERVICE: 10, CAP_NET_BROADCAST: 11, CAP_NET_ADMIN: 12,
  CAP_NET_RAW: 13, CAP_IPC_LOCK: 14, CAP_IPC_OWNER: 15, CAP_SYS_MODULE: 16, CAP_SYS_RAWIO: 17, CAP_SYS_CHROOT: 18,
  CAP_SYS_PTRACE: 19, CAP_SYS_PACCT: 20, CAP_SYS_ADMIN: 21, CAP_SYS_BOOT: 22, CAP_SYS_NICE: 23, CAP_SYS_RESOURCE: 24,
  CAP_SYS_TIME: 25, CAP_SYS_TTY_CONFIG: 26, CAP_MKNOD: 27, CAP_LEASE: 28, CAP_AUDIT_WRITE: 29, CAP_AUDIT_CONTROL: 30,
  CAP_SETFCAP: 31, CAP_MAC_OVERRIDE: 32, CAP_MAC_ADMIN: 33, CAP_SYSLOG: 34, CAP_WAKE_ALARM: 35, CAP_BLOCK_SUSPEND: 36,
  CAP_AUDIT_READ: 37, CAP_PERFMON: 38, CAP_BPF: 39, CAP_CHECKPOINT_RESTORE: 40,
};

export function capMask(names: string[]): bigint {
  let m = 0n;
  for (const n of names) {
    const bit = CAP_NUMBERS[n];
    if (bit === undefined) throw new Error(`unknown capability ${n}`);
    m |= 1n << BigInt(bit);
  }
  return m;
}

/** Parses `Key:\tvalue` lines of /proc/<pid>/status. */
function statusField(out: string, key: string): string {
  const m = new RegExp(`^${key}:\\s*(.*)$`, 'm').exec(out);
  check(m, `no ${key}: line in output ${JSON.stringify(out.slice(0, 400))}`);
  return m[1].trim();
}

function capField(out: string, key: string): bigint {
  return BigInt('0x' + statusField(out, key));
}

function hex(m: bigint): string {
  return '0x' + m.toString(16).padStart(16, '0');
}

function checkCaps(out: string, sets: { effective: string[]; permitted: string[]; bounding: string[]; inheritable?: string[]; ambient?: string[] }): void {
  for (const [key, names] of [
    ['CapEff', sets.effective],
    ['CapPrm', sets.permitted],
    ['CapBnd', sets.bounding],
    ['CapInh', sets.inheritable ?? []],
    ['CapAmb', sets.ambient ?? []],
  ] as const) {
    const got = capField(out, key);
    const want = capMask([...names]);
    check(got === want, `${key} ${hex(got)} != ${hex(want)} (${names.join(',') || 'empty'})`);
  }
}

const DEFAULT_CAPS = ['CAP_AUDIT_WRITE', 'CAP_KILL', 'CAP_NET_BIND_SERVICE'];

function lines(out: string): string[] {
  return out.split('\n').map((l) => l.trim()).filter(Boolean);
}

export const processCases: Case[] = [
  {
    name: 'pid1',
    description: 'the process is pid 1 of a new pid namespace',
    run(h) {
      const out = h.probe('echo pid=$$');
      check(lines(out).includes('pid=1'), `stdout ${JSON.stringify(out)}`);
    },
  },
  {
    name: 'hostname',
    description: 'hostname is set in the new uts namespace',
    run(h) {
      const out = h.probe('hostname', (c) => {
        c.hostname = 'conf-host';
      });
      check(out.trim() === 'conf-host', `hostname ${JSON.stringify(out)}`);
      check(os.hostname() !== 'conf-host', 'host hostname changed');
    },
  },
  {
    name: 'proc-own-processes',
    description: '/proc is mounted for the container pid namespace: it lists only the container processes',
    run(h) {
      // sh's own glob, no fork: only pid 1 should exist.
      const out = h.probe('for p in /proc/[0-9]*; do echo "${p#/proc/}"; done');
      const pids = lines(out).map(Number);
      check(pids.includes(1), `pid 1 not listed: ${JSON.stringify(out)}`);
      check(pids.length <= 3 && pids.every((p) => p < 10), `unexpected pids ${pids.join(' ')}`);
    },
  },
  {
    name: 'caps-default',
    description: 'the default capability sets (AUDIT_WRITE, KILL, NET_BIND_SERVICE) in CapEff/CapPrm/CapBnd, empty CapInh/CapAmb',
    run(h) {
      const out = h.probe('grep ^Cap /proc/self/status');
      checkCaps(out, { effective: DEFAULT_CAPS, permitted: DEFAULT_CAPS, bounding: DEFAULT_CAPS });
    },
  },
  {
    name: 'caps-edited',
    description: 'edited capability sets are applied exactly (bounding larger than effective)',
    run(h) {
      const eff = ['CAP_CHOWN', 'CAP_SYS_ADMIN', 'CAP_KILL'];
      const bnd = [...eff, 'CAP_NET_RAW', 'CAP_SYS_CHROOT'];
      const out = h.probe('grep ^Cap /proc/self/status', (c) => {
        c.process.capabilities = { bounding: bnd, effective: eff, permitted: eff, inheritable: [], ambient: [] };
      });
      checkCaps(out, { effective: eff, permitted: eff, bounding: bnd });
    },
  },
  {
    name: 'user-ids',
    description: 'process.user uid, gid and additionalGids are applied (and only those groups)',
    run(h) {
      const out = h.probe('grep -E "^(Uid|Gid|Groups):" /proc/self/status; id', (c) => {
        c.process.user = { uid: 1000, gid: 1001, additionalGids: [10, 20] };
      });
      check(statusField(out, 'Uid').split(/\s+/).every((v) => v === '1000'), `Uid: ${statusField(out, 'Uid')}`);
      check(statusField(out, 'Gid').split(/\s+/).every((v) => v === '1001'), `Gid: ${statusField(out, 'Gid')}`);
      const groups = statusField(out, 'Groups').split(/\s+/).filter(Boolean).map(Number).sort((a, b) => a - b);
      check(groups.join(',') === '10,20', `Groups: ${groups.join(',')}`);
    },
  },
  {
    name: 'rlimits',
    description: 'process.rlimits sets soft and hard limits',
    run(h) {
      const out = h.probe('grep -E "^Max (open files|processes)" /proc/self/limits', (c) => {
        c.process.rlimits = [
          { type: 'RLIMIT_NOFILE', soft: 512, hard: 777 },
          { type: 'RLIMIT_NPROC', soft: 300, hard: 400 },
        ];
      });
      check(/^Max open files\s+512\s+777\s/m.test(out), `open files line: ${JSON.stringify(out)}`);
      check(/^Max processes\s+300\s+400\s/m.test(out), `processes line: ${JSON.stringify(out)}`);
    },
  },
  {
    name: 'env',
    description: 'process.env is the environment (values with spaces and empty values kept)',
    run(h) {
      const out = h.probe('env', (c) => {
        c.process.env = ['PATH=/bin:/usr/bin', 'FOO=bar baz', 'EMPTY=', 'X_1=a=b'];
      });
      const l = out.split('\n');
      for (const want of ['PATH=/bin:/usr/bin', 'FOO=bar baz', 'EMPTY=', 'X_1=a=b']) check(l.includes(want), `missing ${want} in ${JSON.stringify(out)}`);
    },
  },
  {
    name: 'cwd',
    description: 'process.cwd is the working directory',
    run(h) {
      const out = h.probe('pwd', (c) => {
        c.process.cwd = '/tmp';
      });
      check(out.trim() === '/tmp', `pwd ${JSON.stringify(out)}`);
    },
  },
  {
    name: 'args-exact',
    description: 'process.args are passed verbatim (spaces, quotes, empty argument)',
    run(h) {
      h.makeBundle({ args: ['sh', '-c', 'for a in "$@"; do echo "[$a]"; done', 'argv0', 'a b', '', "it's"] });
      h.create();
      h.start();
      h.waitStopped();
      h.delete();
      check(h.stdout() === "[a b]\n[]\n[it's]\n", `stdout ${JSON.stringify(h.stdout())}`);
    },
  },
  {
    name: 'no-new-privileges',
    description: 'noNewPrivileges true sets NoNewPrivs: 1; false leaves 0',
    run(h) {
      const on = h.probe('grep NoNewPrivs /proc/self/status', (c) => {
        c.process.noNewPrivileges = true;
      });
      check(/NoNewPrivs:\s*1/.test(on), `with true: ${JSON.stringify(on)}`);
      const h2 = new Harness(h.rt, 'nnp-off');
      try {
        const off = h2.probe('grep NoNewPrivs /proc/self/status', (c) => {
          c.process.noNewPrivileges = false;
        });
        check(/NoNewPrivs:\s*0/.test(off), `with false: ${JSON.stringify(off)}`);
      } finally {
        h2.cleanup();
      }
    },
  },
  {
    name: 'oom-score-adj',
    description: 'process.oomScoreAdj is written to /proc/self/oom_score_adj',
    run(h) {
      const out = h.probe('cat /proc/self/oom_score_adj', (c) => {
        c.process.oomScoreAdj = 123;
      });
      check(out.trim() === '123', `oom_score_adj ${JSON.stringify(out)}`);
    },
  },
  {
    name: 'umask',
    description: 'process.user.umask is applied',
    run(h) {
      const out = h.probe('umask', (c) => {
        c.process.user = { uid: 0, gid: 0, umask: 0o027 };
      });
      check(/^0?027$/.test(out.trim()), `umask ${JSON.stringify(out)}`);
    },
  },
  {
    name: 'sysctl',
    description: 'linux.sysctl is applied in the container namespaces (net.ipv4.ip_forward in a new netns)',
    run(h) {
      const hostValue = fs.readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8').trim();
      const want = hostValue === '1' ? '0' : '1';
      const out = h.probe('cat /proc/sys/net/ipv4/ip_forward', (c) => {
        c.linux.sysctl = { 'net.ipv4.ip_forward': want };
      });
      check(out.trim() === want, `ip_forward ${JSON.stringify(out)} (want ${want})`);
      check(fs.readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8').trim() === hostValue, 'host ip_forward changed');
    },
  },
  {
    name: 'namespaces-differ',
    description: 'pid, net, ipc, uts and mnt namespaces differ from the host',
    run(h) {
      const out = h.probe('for n in pid net ipc uts mnt; do echo "$n $(readlink /proc/self/ns/$n)"; done');
      for (const n of ['pid', 'net', 'ipc', 'uts', 'mnt']) {
        const m = new RegExp(`^${n} (\\S+)$`, 'm').exec(out);
        check(m, `no ${n} namespace line in ${JSON.stringify(out)}`);
        const host = fs.readlinkSync(path.join('/proc/self/ns', n));
        check(m[1] !== host, `${n} namespace is the host's (${host})`);
      }
    },
  },
];
