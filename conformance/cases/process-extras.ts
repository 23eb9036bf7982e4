/**
 * The rest of the process and linux fields (config.md "Linux Process",
 * config-linux.md): time namespace offsets, personality, scheduler, I/O
 * priority, memory policy, network devices, Intel RDT and LSM labels when the
 * host lacks them, annotations in the state. Checked from inside the
 * container, or from the host on the container's init.
 *
 * runc 1.1 and crun 1.8 predate some of these fields: such cases are marked
 * notApplicable for them, with the reason, instead of being weakened.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import { Case, check, Harness, SkipCase } from '../harness';

function lines(out: string): string[] {
  return out.split('\n').map((l) => l.trim()).filter(Boolean);
}

/** `create` must fail (and leave nothing running) with this config edit. */
function mustRefuse(h: Harness, edit: (c: Record<string, any>) => void, what: string): void {
  h.makeBundle({ args: ['true'], edit });
  const r = h.tryCreate();
  check(r.status !== 0, `create with ${what} succeeded on a host without it`);
}

const RUNC_11 = 'runc 1.1 predates this field (added in runc 1.2/1.3) and ignores it';
const RUNC_11_13 = 'runc 1.1 predates this field (added in runc 1.3) and ignores it';
const CRUN_18 = 'crun 1.8 predates this field and ignores it';

let vethSeq = 0;

export const processExtrasCases: Case[] = [
  {
    name: 'time-offsets',
    description: 'linux.timeOffsets: the clocks of a new time namespace are offset (boottime → /proc/uptime)',
    notApplicable: {
      runc: 'runc 1.1 has no time namespace support (added in runc 1.2)',
      crun: 'crun 1.8 fails to create a new time namespace with offsets here ("write to sync socket: Connection reset by peer")',
    },
    run(h) {
      const hostUptime = Number(fs.readFileSync('/proc/uptime', 'utf8').split(' ')[0]);
      const out = h.probe('cat /proc/uptime; cat /proc/self/timens_offsets', (c) => {
        c.linux.namespaces.push({ type: 'time' });
        c.linux.timeOffsets = { boottime: { secs: 864000, nanosecs: 0 }, monotonic: { secs: 86400, nanosecs: 0 } };
      });
      const up = Number(lines(out)[0].split(' ')[0]);
      check(up >= hostUptime + 864000 && up < hostUptime + 864000 + 120, `uptime inside ${up}, host ${hostUptime}: want +864000 s`);
      check(/monotonic\s+86400\s+0/.test(out) && /boottime\s+864000\s+0/.test(out), `timens_offsets: ${JSON.stringify(out)}`);
    },
  },
  {
    name: 'personality-linux32',
    description: 'linux.personality LINUX32: uname reports a 32-bit machine',
    notApplicable: { runc: RUNC_11 },
    run(h) {
      if (process.arch !== 'x64') return; // i686 is the x86 answer
      const out = h.probe('uname -m', (c) => {
        c.linux.personality = { domain: 'LINUX32' };
      });
      check(out.trim() === 'i686', `uname -m ${JSON.stringify(out)}`);
    },
  },
  {
    name: 'scheduler',
    description: 'process.scheduler: policy and nice are set before the process runs (/proc/self/stat)',
    notApplicable: { runc: RUNC_11, crun: CRUN_18 },
    run(h) {
      // stat fields 19 (nice), 40 (rt_priority), 41 (policy); SCHED_BATCH = 3.
      const out = h.probe('cut -d" " -f19,40,41 /proc/self/stat', (c) => {
        c.process.scheduler = { policy: 'SCHED_BATCH', nice: 7 };
      });
      check(out.trim() === '7 0 3', `nice rt_priority policy = ${JSON.stringify(out.trim())}, want "7 0 3"`);
    },
  },
  {
    name: 'io-priority',
    description: 'process.ioPriority: the I/O scheduling class and level (ionice)',
    notApplicable: { runc: RUNC_11, crun: CRUN_18 },
    run(h) {
      const out = h.probe('ionice', (c) => {
        c.process.ioPriority = { class: 'IOPRIO_CLASS_BE', priority: 6 };
      });
      check(/best-effort: prio 6/.test(out), `ionice ${JSON.stringify(out)}`);
    },
  },
  {
    name: 'memory-policy',
    description: 'linux.memoryPolicy: MPOL_INTERLEAVE on node 0 (/proc/self/numa_maps)',
    notApplicable: { runc: RUNC_11_13, crun: CRUN_18 },
    run(h) {
      if (!fs.existsSync('/proc/self/numa_maps')) throw new SkipCase('kernel without NUMA (no /proc/self/numa_maps)');
      const out = h.probe('head -1 /proc/self/numa_maps', (c) => {
        c.linux.memoryPolicy = { mode: 'MPOL_INTERLEAVE', nodes: '0' };
      });
      check(/ interleave:0 /.test(out), `numa_maps ${JSON.stringify(out)}`);
    },
  },
  {
    name: 'net-devices',
    description: 'linux.netDevices: a host veth is moved in, renamed, up, with its permanent address',
    notApplicable: { runc: RUNC_11_13, crun: CRUN_18 },
    run(h) {
      const host = `tsrv${process.pid % 10000}${vethSeq++}`.slice(0, 15);
      const peer = `${host}p`.slice(0, 15);
      execFileSync('ip', ['link', 'add', host, 'type', 'veth', 'peer', 'name', peer]);
      try {
        execFileSync('ip', ['addr', 'add', '10.213.7.2/24', 'dev', host]);
        const out = h.probe('ip -o addr show dev ctr0; ip -o link show dev ctr0', (c) => {
          c.linux.netDevices = { [host]: { name: 'ctr0' } };
        });
        check(/inet 10\.213\.7\.2\/24/.test(out), `address not kept: ${JSON.stringify(out)}`);
        check(/ctr0.*[<,]UP[,>]/.test(out), `ctr0 not up: ${JSON.stringify(out)}`);
        let left = '';
        try {
          left = execFileSync('ip', ['-o', 'link', 'show', 'dev', host], { stdio: ['ignore', 'pipe', 'ignore'] }).toString();
        } catch {
          /* gone: a virtual device dies with the namespace */
        }
        check(left === '', `${host} is back on the host after the namespace died: ${left}`);
      } finally {
        for (const d of [host, peer]) {
          try {
            execFileSync('ip', ['link', 'del', d], { stdio: 'ignore' });
          } catch {
            /* already gone */
          }
        }
      }
    },
  },
  {
    name: 'intel-rdt-unavailable',
    description: 'linux.intelRdt without a mounted resctrl filesystem is an error (config-linux.md "IntelRdt")',
    notApplicable: { crun: 'crun 1.8 predates its Intel RDT support and ignores linux.intelRdt' },
    run(h) {
      if (fs.readFileSync('/proc/self/mountinfo', 'utf8').includes(' - resctrl ')) throw new SkipCase('this host has a mounted resctrl filesystem: the error case cannot be checked');
      mustRefuse(h, (c) => {
        c.linux.intelRdt = { closID: 'conf-rdt', l3CacheSchema: 'L3:0=f' };
      }, 'linux.intelRdt');
    },
  },
  {
    name: 'selinux-label-unavailable',
    description: 'process.selinuxLabel on a host without SELinux is an error',
    run(h) {
      if (fs.existsSync('/sys/fs/selinux/enforce')) throw new SkipCase('this host has SELinux: the error case cannot be checked');
      mustRefuse(h, (c) => {
        c.process.selinuxLabel = 'system_u:system_r:container_t:s0';
      }, 'process.selinuxLabel');
    },
  },
  {
    name: 'annotations-in-state',
    description: 'annotations of config.json are reported by state (runtime.md "State")',
    run(h) {
      h.makeBundle({
        args: ['sleep', '10'],
        edit: (c) => {
          c.annotations = { 'org.example.conf': 'yes', 'org.example.other': 'two words' };
        },
      });
      h.create();
      const s = h.state();
      check(s.annotations?.['org.example.conf'] === 'yes' && s.annotations?.['org.example.other'] === 'two words', `annotations ${JSON.stringify(s.annotations)}`);
      h.delete(h.id, true);
    },
  },
];
