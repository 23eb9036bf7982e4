/** Root filesystem, mounts, masked/readonly paths, /dev (config.md "Root", "Mounts"; config-linux.md). */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Case, check } from '../harness';

/** The /proc/mounts line whose mount point is `dest` (last one wins, as the visible mount). */
function mountLine(out: string, dest: string): string[] {
  const ls = out.split('\n').filter((l) => l.split(' ')[1] === dest);
  check(ls.length > 0, `${dest} not in /proc/mounts: ${JSON.stringify(out.slice(0, 600))}`);
  return ls[ls.length - 1].split(' ');
}

export const filesystemCases: Case[] = [
  {
    name: 'dev-readonly',
    description: 'a read-only /dev (and tmpfs) still gets its submounts, devices and links; it is read-only once the container runs',
    run(h) {
      const out = h.probe('grep -E " /dev(/ro)? " /proc/self/mountinfo | cut -d" " -f5,6; ls -1d /dev/pts/ptmx /dev/null /dev/ro/sub; touch /dev/x 2>/dev/null || echo dev-ro; touch /dev/ro/x 2>/dev/null || echo ro-ro', (c) => {
        c.mounts.find((m: { destination: string }) => m.destination === '/dev').options.push('ro');
        c.mounts.push({ destination: '/dev/ro', type: 'tmpfs', source: 'tmpfs', options: ['ro', 'nosuid'] });
        c.mounts.push({ destination: '/dev/ro/sub', type: 'tmpfs', source: 'tmpfs', options: [] });
      });
      const want = ['/dev ro,nosuid', '/dev/ro ro,nosuid,relatime', '/dev/null', '/dev/pts/ptmx', '/dev/ro/sub', 'dev-ro', 'ro-ro'];
      check(out.trim().split('\n').join('|') === want.join('|'), `got ${JSON.stringify(out)}`);
    },
  },
  {
    name: 'rootfs-propagation-unbindable',
    description: 'linux.rootfsPropagation "unbindable": the container\'s / is unbindable',
    notApplicable: { runc: 'runc 1.1.5 makes / unbindable before binding the rootfs (EINVAL)' },
    run(h) {
      const out = h.probe('awk \'$5 == "/" { print $7 }\' /proc/self/mountinfo', (c) => (c.linux.rootfsPropagation = 'unbindable'));
      check(out.trim() === 'unbindable', `propagation of /: ${JSON.stringify(out)}`);
    },
  },
  {
    name: 'host-files-invisible',
    description: 'after pivot_root the host filesystem is not reachable (a marker in the host /tmp is absent)',
    run(h) {
      const marker = path.join(os.tmpdir(), `conf-marker-${process.pid}-${Date.now()}`);
      fs.writeFileSync(marker, 'host');
      try {
        const rel = marker.replace(/^\/+/, '');
        const out = h.probe(`test -e /${rel} && echo visible || echo absent; test -e /work && echo work || echo nowork; ls -a /`);
        check(out.startsWith('absent\nnowork\n'), `stdout ${JSON.stringify(out)}`);
        check(out.includes('\nbusybox') || out.includes('bin'), `root listing ${JSON.stringify(out)}`);
      } finally {
        fs.rmSync(marker, { force: true });
      }
    },
  },
  {
    name: 'root-readonly',
    description: 'root.readonly true: writing to / fails with EROFS; false: it works',
    run(h) {
      const out = h.probe('touch /rofile 2>&1 && echo wrote || echo failed');
      check(/Read-only file system/.test(out) && out.includes('failed'), `readonly root: ${JSON.stringify(out)}`);
      check(!fs.existsSync(path.join(h.bundle, 'rootfs/rofile')), 'file created in rootfs');
    },
  },
  {
    name: 'root-writable',
    description: 'root.readonly false: writing to / works',
    run(h) {
      const out = h.probe('touch /rwfile 2>&1 && echo wrote || echo failed', (c) => {
        c.root.readonly = false;
      });
      check(out.trim() === 'wrote', `writable root: ${JSON.stringify(out)}`);
      check(fs.existsSync(path.join(h.bundle, 'rootfs/rwfile')), 'file not in the bundle rootfs');
    },
  },
  {
    name: 'masked-paths',
    description: 'maskedPaths: a masked file reads empty (/dev/null over it), a masked directory is empty',
    run(h) {
      // Only paths that exist on this kernel (e.g. /proc/kcore needs CONFIG_PROC_KCORE); masking a missing path is a no-op.
      const files = ['/proc/kcore', '/proc/keys', '/proc/timer_list', '/proc/sched_debug'].filter((p) => fs.existsSync(p));
      const dirs = ['/sys/firmware', '/proc/acpi', '/proc/scsi'].filter((p) => fs.existsSync(p) && fs.statSync(p).isDirectory());
      check(files.length > 0 && dirs.length > 0, 'no maskable host paths found');
      const script = [
        ...files.map((f) => `echo "${f}=$(cat ${f} 2>&1 | wc -c)"`),
        ...dirs.map((d) => `echo "${d}=$(ls -A ${d} 2>&1 | wc -l)"`),
      ].join('; ');
      const out = h.probe(script, (c) => {
        c.linux.maskedPaths = [...files, ...dirs];
      });
      for (const p of [...files, ...dirs]) check(out.split('\n').includes(`${p}=0`), `${p} not masked: ${JSON.stringify(out)}`);
    },
  },
  {
    name: 'readonly-paths',
    description: 'readonlyPaths: /proc/sys is mounted read-only (write fails with EROFS)',
    run(h) {
      const out = h.probe('{ echo x > /proc/sys/kernel/domainname; } 2>&1 && echo wrote || echo failed; grep " /proc/sys " /proc/mounts', (c) => {
        c.linux.readonlyPaths = ['/proc/sys', '/proc/sysrq-trigger'];
      });
      check(/Read-only file system/.test(out) && out.includes('failed\n'), `write to /proc/sys: ${JSON.stringify(out)}`);
      const opts = mountLine(out, '/proc/sys')[3].split(',');
      check(opts.includes('ro'), `/proc/sys options ${opts}`);
    },
  },
  {
    name: 'tmpfs-mount-options',
    description: 'a tmpfs mount with options appears in /proc/mounts with those options',
    run(h) {
      const out = h.probe('cat /proc/mounts; stat -c "mode=%a" /data', (c) => {
        c.mounts.push({ destination: '/data', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'nodev', 'noexec', 'size=1m', 'mode=0700'] });
      });
      const m = mountLine(out, '/data');
      check(m[2] === 'tmpfs', `fstype ${m[2]}`);
      const opts = m[3].split(',');
      for (const o of ['rw', 'nosuid', 'nodev', 'noexec', 'size=1024k', 'mode=700']) check(opts.includes(o), `option ${o} missing in ${m[3]}`);
      check(out.includes('mode=700\n'), `stat mode: ${JSON.stringify(out.slice(-40))}`);
    },
  },
  {
    name: 'bind-mount',
    description: 'a bind mount of a host directory shows its files; ro is honoured; rw writes reach the host',
    run(h) {
      const hostRo = fs.mkdtempSync(path.join(os.tmpdir(), 'conf-bind-ro-'));
      const hostRw = fs.mkdtempSync(path.join(os.tmpdir(), 'conf-bind-rw-'));
      try {
        fs.writeFileSync(path.join(hostRo, 'hello.txt'), 'bind-ok\n');
        const out = h.probe('cat /mnt/ro/hello.txt; touch /mnt/ro/new 2>&1 && echo ro-wrote || echo ro-failed; echo from-container > /mnt/rw/out.txt && echo rw-wrote', (c) => {
          c.mounts.push({ destination: '/mnt/ro', type: 'bind', source: hostRo, options: ['rbind', 'ro'] });
          c.mounts.push({ destination: '/mnt/rw', type: 'bind', source: hostRw, options: ['rbind', 'rw'] });
        });
        check(out.startsWith('bind-ok\n'), `cat: ${JSON.stringify(out)}`);
        check(/Read-only file system/.test(out) && out.includes('ro-failed'), `ro bind writable: ${JSON.stringify(out)}`);
        check(!fs.existsSync(path.join(hostRo, 'new')), 'file created through the ro bind');
        check(out.includes('rw-wrote'), `rw bind: ${JSON.stringify(out)}`);
        check(fs.readFileSync(path.join(hostRw, 'out.txt'), 'utf8') === 'from-container\n', 'rw bind write not visible on the host');
      } finally {
        fs.rmSync(hostRo, { recursive: true, force: true });
        fs.rmSync(hostRw, { recursive: true, force: true });
      }
    },
  },
  {
    name: 'dev-default-devices',
    description: 'the default devices exist as char devices with the right numbers; /dev/fd, /dev/stdin|stdout|stderr links',
    run(h) {
      const out = h.probe(
        'for d in null zero full random urandom tty; do stat -c "%n %F %t %T %a" /dev/$d; done; for l in fd stdin stdout stderr ptmx; do echo "/dev/$l -> $(readlink /dev/$l)"; done; head -c 4 /dev/zero | wc -c; echo x > /dev/null && echo null-ok',
      );
      const want: Record<string, [string, string]> = { null: ['1', '3'], zero: ['1', '5'], full: ['1', '7'], random: ['1', '8'], urandom: ['1', '9'], tty: ['5', '0'] };
      for (const [d, [maj, min]] of Object.entries(want)) {
        const m = new RegExp(`^/dev/${d} (.+) (\\w+) (\\w+) (\\d+)$`, 'm').exec(out);
        check(m, `/dev/${d} missing: ${JSON.stringify(out.slice(0, 500))}`);
        check(/character special/.test(m[1]), `/dev/${d} is ${m[1]}`);
        check(parseInt(m[2], 16) === Number(maj) && parseInt(m[3], 16) === Number(min), `/dev/${d} is ${m[2]}:${m[3]} (hex), want ${maj}:${min}`);
        check(m[4] === '666', `/dev/${d} mode ${m[4]}, want 666`);
      }
      for (const [l, target] of [['fd', '/proc/self/fd'], ['stdin', '/proc/self/fd/0'], ['stdout', '/proc/self/fd/1'], ['stderr', '/proc/self/fd/2']]) {
        check(out.includes(`/dev/${l} -> ${target}\n`), `/dev/${l} link: ${JSON.stringify(out)}`);
      }
      check(/^\/dev\/ptmx -> (pts\/ptmx|\/dev\/pts\/ptmx)$/m.test(out), `/dev/ptmx link: ${JSON.stringify(out)}`);
      check(/\n4\nnull-ok\n$/.test(out), `device I/O: ${JSON.stringify(out.slice(-30))}`);
    },
  },
  {
    name: 'proc-sys-mounts',
    description: '/proc is proc, /sys is sysfs (ro), /dev is tmpfs, /dev/pts devpts, /dev/shm tmpfs, /dev/mqueue mqueue',
    run(h) {
      const out = h.probe('cat /proc/mounts');
      const types: Record<string, string> = { '/proc': 'proc', '/sys': 'sysfs', '/dev': 'tmpfs', '/dev/pts': 'devpts', '/dev/shm': 'tmpfs', '/dev/mqueue': 'mqueue' };
      for (const [d, t] of Object.entries(types)) {
        const m = mountLine(out, d);
        check(m[2] === t, `${d} type ${m[2]} != ${t}`);
      }
      check(mountLine(out, '/sys')[3].split(',').includes('ro'), '/sys not ro');
      check(mountLine(out, '/')[3].split(',').includes('ro'), '/ not ro with root.readonly');
    },
  },
];
