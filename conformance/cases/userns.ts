/** User namespaces and mount_setattr options (config-linux.md "User namespace mappings"; config.md mount options). */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { host, need } from '../../test/helpers/host';
import { Case, check, skipUnless } from '../harness';

const needIdmap = (): void => skipUnless(need(host().features.idmappedMounts.ok, host().features.idmappedMounts.why));

const HOST_ID = 100000;

/** A user namespace mapping container 0-65535 to host 100000-165535; the rootfs is chowned to it. */
function userns(c: Record<string, any>): void {
  c.linux.namespaces.push({ type: 'user' });
  c.linux.uidMappings = [{ containerID: 0, hostID: HOST_ID, size: 65536 }];
  c.linux.gidMappings = [{ containerID: 0, hostID: HOST_ID, size: 65536 }];
  // sysfs needs a network namespace owned by the user namespace: bind the host's, as runc's rootless spec does.
  c.mounts = c.mounts.filter((m: any) => m.type !== 'sysfs' && m.type !== 'cgroup');
  c.mounts.push({ destination: '/sys', type: 'none', source: '/sys', options: ['rbind', 'nosuid', 'noexec', 'nodev', 'ro'] });
}

function chownTree(p: string, uid: number, gid: number): void {
  fs.lchownSync(p, uid, gid);
  const st = fs.lstatSync(p);
  if (st.isDirectory()) for (const e of fs.readdirSync(p)) chownTree(path.join(p, e), uid, gid);
}

export const usernsCases: Case[] = [
  {
    name: 'userns-mappings',
    description: 'linux.uidMappings/gidMappings: the process is root of a user namespace with exactly those maps; default devices usable',
    run(h) {
      h.makeBundle({
        args: ['sh', '-c', 'cat /proc/self/uid_map /proc/self/gid_map; id -u; id -g; echo x > /dev/null && head -c 4 /dev/zero | wc -c'],
        edit: userns,
      });
      chownTree(path.join(h.bundle, 'rootfs'), HOST_ID, HOST_ID);
      fs.chmodSync(h.dir, 0o755); // the container's root (host uid ${HOST_ID}) must reach its rootfs
      h.create();
      h.start();
      h.waitStopped();
      h.delete();
      const lines = h.stdout().trim().split('\n').map((l) => l.trim().split(/\s+/).join(' '));
      check(lines[0] === `0 ${HOST_ID} 65536` && lines[1] === `0 ${HOST_ID} 65536`, `maps ${JSON.stringify(lines)}`);
      check(lines[2] === '0' && lines[3] === '0', `ids ${JSON.stringify(lines)}`);
      check(lines[4] === '4', `devices ${JSON.stringify(lines)}`);
    },
  },
  {
    name: 'mount-recursive-ro',
    description: 'rro (mount_setattr AT_RECURSIVE): a submount of an rbind mount is read-only too',
    run(h) {
      const src = path.join(h.dir, 'rsrc');
      const sub = path.join(src, 'sub');
      fs.mkdirSync(sub, { recursive: true });
      const { execFileSync } = require('node:child_process') as typeof import('node:child_process');
      execFileSync('mount', ['-t', 'tmpfs', 'tmpfs', sub]);
      try {
        const out = h.probe('touch /data/a 2>&1; touch /data/sub/b 2>&1; grep " /data" /proc/mounts', (c) => {
          c.mounts.push({ destination: '/data', type: 'bind', source: src, options: ['rbind', 'rro', 'rnosuid'] });
        });
        check((out.match(/Read-only file system/g) ?? []).length === 2, `writes: ${JSON.stringify(out)}`);
        for (const l of out.split('\n').filter((x) => /^\S+ \/data\S* \S+ \S+ \d+ \d+$/.test(x))) {
          const opts = l.split(' ')[3].split(',');
          check(opts.includes('ro') && opts.includes('nosuid'), `mount ${l}`);
        }
      } finally {
        execFileSync('umount', ['-l', sub]);
      }
    },
  },
  {
    name: 'mount-idmap',
    description: 'idmap bind mount with the mount\'s own uidMappings/gidMappings: a file owned by 0 shows as the mapped ids',
    notApplicable: { runc: 'idmapped mounts arrived in runc 1.2 (PR #3717); runc 1.1.5 ignores the option' },
    run(h) {
      needIdmap();
      const src = path.join(h.dir, 'isrc');
      fs.mkdirSync(src);
      fs.writeFileSync(path.join(src, 'f'), 'x');
      const out = h.probe('stat -c "%u %g" /idm/f', (c) => {
        c.mounts.push({
          destination: '/idm',
          type: 'bind',
          source: src,
          options: ['bind', 'idmap'],
          uidMappings: [{ containerID: 0, hostID: 1234, size: 1 }],
          gidMappings: [{ containerID: 0, hostID: 4321, size: 1 }],
        });
      });
      check(out.trim() === '1234 4321', `owner ${JSON.stringify(out)}`);
    },
  },
  {
    name: 'mount-idmap-userns',
    description: 'idmap bind mount without mappings in a container with a user namespace: host owners show unmapped (as on disk), root writes as host root',
    notApplicable: { runc: 'idmapped mounts arrived in runc 1.2 (PR #3717); runc 1.1.5 ignores the option' },
    run(h) {
      needIdmap();
      const src = path.join(h.dir, 'usrc');
      fs.mkdirSync(src);
      fs.writeFileSync(path.join(src, 'f'), 'x');
      fs.chownSync(path.join(src, 'f'), 1000, 1001);
      h.makeBundle({
        args: ['sh', '-c', 'stat -c "%u %g" /idm/f /idm; echo w > /idm/new && echo wrote'],
        edit: (c) => {
          userns(c);
          c.mounts.push({ destination: '/idm', type: 'bind', source: src, options: ['bind', 'idmap'] });
        },
      });
      chownTree(path.join(h.bundle, 'rootfs'), HOST_ID, HOST_ID);
      fs.chmodSync(h.dir, 0o755);
      h.create();
      h.start();
      h.waitStopped();
      h.delete();
      const lines = h.stdout().trim().split('\n');
      check(lines[0] === '1000 1001' && lines[1] === '0 0' && lines[2] === 'wrote', `output ${JSON.stringify(lines)}`);
      const st = fs.statSync(path.join(src, 'new'));
      check(st.uid === 0 && st.gid === 0, `new file owned by ${st.uid}:${st.gid} on the host`);
    },
  },
];
