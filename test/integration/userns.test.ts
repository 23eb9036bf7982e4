/** User namespaces as root: mappings, ownership of /dev and mounts, mknod fallback, r* options, idmap mounts. */
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { TtyReceiver, readAll } from '../helpers/recvtty';
import { Sandbox, TSRUN, cleanEnv } from '../helpers/tsrun';

const sb = new Sandbox('tsrun-userns-');
fs.chmodSync(sb.dir, 0o755); // the container's root (a high host uid) must reach the bundles
const mounted: string[] = [];
test.after(() => {
  for (const m of mounted) execFileSync('umount', ['-l', m]);
  sb.cleanup();
});

const HOST = 200000;

function chownTree(p: string, uid: number): void {
  fs.lchownSync(p, uid, uid);
  if (fs.lstatSync(p).isDirectory()) for (const e of fs.readdirSync(p)) chownTree(path.join(p, e), uid);
}

function usernsBundle(script: string, edit?: (c: Record<string, any>) => void): string {
  const b = sb.bundle({
    args: ['sh', '-c', script],
    edit: (c) => {
      c.linux.namespaces.push({ type: 'user' });
      c.linux.uidMappings = [{ containerID: 0, hostID: HOST, size: 65536 }];
      c.linux.gidMappings = [{ containerID: 0, hostID: HOST, size: 65536 }];
      c.mounts = c.mounts.filter((m: any) => m.type !== 'sysfs' && m.type !== 'cgroup');
      c.mounts.push({ destination: '/sys', type: 'none', source: '/sys', options: ['rbind', 'nosuid', 'noexec', 'nodev', 'ro'] });
      edit?.(c);
    },
  });
  chownTree(path.join(b, 'rootfs'), HOST);
  return b;
}

test('maps, root of the namespace, host view of the process', () => {
  const b = usernsBundle('cat /proc/self/uid_map /proc/self/gid_map; id -u; sleep 0.5');
  const id = sb.id();
  assert.is(sb.tsrun(['run', '-d', '--bundle', b, id]).status, 0);
  const pid = sb.state(id).pid;
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  assert.match(status, new RegExp(`\\nUid:\\s+${HOST}\\s`), 'host sees the mapped uid');
  sb.waitStatus(id, 'stopped');
  assert.is(sb.tsrun(['delete', id]).status, 0);
});

test('devices are bind-mounted from the host (mknod is not allowed) and work; /dev and mounts owned by the container root', () => {
  const b = usernsBundle('ls -ln /dev/null /dev/zero | cut -c1-45; stat -c "%u %g" /dev /dev/shm /tmp; head -c 3 /dev/zero | wc -c; grep " /dev/null " /proc/self/mountinfo | wc -l');
  const id = sb.id();
  const r = sb.tsrun(['run', '--bundle', b, id]);
  assert.is(r.status, 0, r.stderr);
  const out = r.stdout.split('\n');
  assert.match(out[0], /^crw-rw-rw-\s+1 65534\s+65534\s+1,\s+3/); // host root shows as the overflow id
  assert.is(out[2], '0 0');
  assert.is(out[3], '0 0');
  assert.is(out[4], '0 0');
  assert.is(out[5].trim(), '3');
  assert.is(out[6].trim(), '1', '/dev/null is a bind mount');
});

test('rro/rnosuid apply recursively to submounts (mount_setattr AT_RECURSIVE)', () => {
  const src = path.join(sb.dir, 'rsrc');
  fs.mkdirSync(path.join(src, 'sub'), { recursive: true });
  execFileSync('mount', ['-t', 'tmpfs', 'tmpfs', path.join(src, 'sub')]);
  mounted.push(path.join(src, 'sub'));
  const b = usernsBundle('touch /d/sub/x 2>&1; grep " /d" /proc/mounts | cut -d" " -f2,4', (c) => {
    c.mounts.push({ destination: '/d', type: 'bind', source: src, options: ['rbind', 'rro', 'rnosuid'] });
  });
  const r = sb.tsrun(['run', '--bundle', b, sb.id()]);
  assert.is(r.status, 0, r.stderr);
  assert.match(r.stdout, /Read-only file system/);
  const sub = r.stdout.split('\n').find((l) => l.startsWith('/d/sub '))!;
  assert.match(sub, /^\/d\/sub ro,nosuid/);
});

test('readonlyPaths on a mount with locked atime flags (strictatime, nodiratime): the atime state is kept, not reset to relatime', () => {
  for (const atime of ['strictatime', 'noatime', 'relatime']) {
    const src = path.join(sb.dir, `atime-${atime}`);
    fs.mkdirSync(src);
    execFileSync('mount', ['-t', 'tmpfs', '-o', `${atime},nodiratime,mode=755`, 'tmpfs', src]);
    mounted.push(src);
    // The top mount (the read-only one) is the last line.
    const b = usernsBundle('grep " /mnt/a " /proc/self/mountinfo | tail -1 | cut -d" " -f6', (c) => {
      c.mounts.push({ destination: '/mnt/a', type: 'bind', source: src, options: ['bind', 'nosuid'] });
      c.linux.readonlyPaths = [...(c.linux.readonlyPaths ?? []), '/mnt/a'];
    });
    const r = sb.tsrun(['run', '--bundle', b, sb.id()]);
    assert.is(r.status, 0, `${atime}: ${r.stderr}`);
    const opts = r.stdout.trim().split(',');
    assert.ok(opts.includes('ro') && opts.includes('nosuid') && opts.includes('nodiratime'), `${atime}: ${r.stdout}`);
    if (atime !== 'strictatime') assert.ok(opts.includes(atime), `${atime}: ${r.stdout}`);
    else assert.not.ok(opts.includes('relatime') || opts.includes('noatime'), r.stdout);
  }
});

test('idmap mount on tmpfs and ext4 (no user namespace): files show the mapped owner', () => {
  const ext = path.join(sb.dir, 'idsrc');
  fs.mkdirSync(ext);
  fs.writeFileSync(path.join(ext, 'f'), 'x');
  const tmp = path.join(sb.dir, 'idtmp');
  fs.mkdirSync(tmp);
  execFileSync('mount', ['-t', 'tmpfs', 'tmpfs', tmp]);
  mounted.push(tmp);
  fs.writeFileSync(path.join(tmp, 'g'), 'y');
  const maps = { uidMappings: [{ containerID: 0, hostID: 1500, size: 1 }], gidMappings: [{ containerID: 0, hostID: 1600, size: 1 }] };
  const b = sb.bundle({
    args: ['sh', '-c', 'stat -c "%u %g" /e/f /t/g; grep -c idmapped /proc/mounts'],
    edit: (c) => {
      c.mounts.push({ destination: '/e', type: 'bind', source: ext, options: ['bind', 'idmap'], ...maps });
      c.mounts.push({ destination: '/t', type: 'bind', source: tmp, options: ['rbind', 'ridmap', 'ro'], ...maps });
    },
  });
  const r = sb.tsrun(['run', '--bundle', b, sb.id()]);
  assert.is(r.status, 0, r.stderr);
  assert.equal(r.stdout.trim().split('\n'), ['1500 1600', '1500 1600', '2']);
});

test('idmap/ridmap mounts with a user namespace (idmapped in the parent, fd passed to the init): host owners as mapped, root writes as host root', () => {
  const src = path.join(sb.dir, 'usrc');
  fs.mkdirSync(path.join(src, 'sub'), { recursive: true });
  fs.chmodSync(src, 0o755);
  fs.writeFileSync(path.join(src, 'owned'), 'x');
  fs.chownSync(path.join(src, 'owned'), 1000, 1001);
  fs.writeFileSync(path.join(src, 'single'), 'y');
  const tmp = path.join(src, 'sub');
  execFileSync('mount', ['-t', 'tmpfs', 'tmpfs', tmp]);
  mounted.push(tmp);
  fs.writeFileSync(path.join(tmp, 'g'), 'z');
  fs.chownSync(path.join(tmp, 'g'), 7, 8);
  const b = usernsBundle(
    'stat -c "%u %g" /e/owned /e /r/sub/g; stat -c "%u" /f; echo w > /e/new && echo ok; touch /ro/x 2>&1; grep -c idmapped /proc/mounts',
    (c) => {
      c.mounts.push({ destination: '/e', type: 'bind', source: src, options: ['bind', 'idmap'] });
      c.mounts.push({ destination: '/r', type: 'bind', source: src, options: ['rbind', 'ridmap', 'nosuid'] });
      c.mounts.push({ destination: '/f', type: 'bind', source: path.join(src, 'single'), options: ['bind', 'idmap'], uidMappings: c.linux.uidMappings, gidMappings: c.linux.gidMappings });
      c.mounts.push({ destination: '/ro', type: 'bind', source: src, options: ['bind', 'idmap', 'ro'] });
    },
  );
  const r = sb.tsrun(['run', '--bundle', b, sb.id()]);
  assert.is(r.status, 0, r.stderr);
  const out = r.stdout.trim().split('\n');
  assert.equal(out.slice(0, 5), ['1000 1001', '0 0', '7 8', '0', 'ok'], r.stdout);
  assert.match(out[5], /Read-only file system/);
  assert.ok(Number(out[6]) >= 5, `idmapped mounts: ${out[6]}`); // /e, /r, /r/sub, /f, /ro
  const st = fs.statSync(path.join(src, 'new'));
  assert.equal([st.uid, st.gid], [0, 0], 'container root writes as host uid 0 through the idmapped mount');
});

test('idmap with a user namespace and mount mappings of its own (a temporary user namespace in the parent): double mapping', () => {
  // On-disk ids go through the mount's maps first ("containerID hostID size": on-disk containerID
  // shows as host id hostID), then through the container's (host HOST+n is n inside).
  const src = path.join(sb.dir, 'osrc');
  fs.mkdirSync(src, { recursive: true });
  fs.chmodSync(src, 0o755);
  fs.chownSync(src, 0, 0);
  fs.writeFileSync(path.join(src, 'owned'), 'x');
  fs.chownSync(path.join(src, 'owned'), 1000, 1001);
  const b = usernsBundle('stat -c "%u %g" /m1/owned /m1 /m2/owned /m2; echo w > /m1/new 2>&1 || echo denied; grep -c idmapped /proc/mounts', (c) => {
    c.mounts.push({
      destination: '/m1', type: 'bind', source: src, options: ['bind', 'idmap'],
      uidMappings: [{ containerID: 1000, hostID: HOST + 5, size: 1 }], gidMappings: [{ containerID: 1001, hostID: HOST + 7, size: 1 }],
    });
    c.mounts.push({
      destination: '/m2', type: 'bind', source: src, options: ['rbind', 'ridmap', 'ro'],
      uidMappings: [{ containerID: 0, hostID: HOST + 10, size: 2000 }], gidMappings: [{ containerID: 0, hostID: HOST + 20, size: 2000 }],
    });
  });
  const id = sb.id();
  const r = sb.tsrun(['run', '--bundle', b, id]);
  assert.is(r.status, 0, r.stderr);
  const out = r.stdout.trim().split('\n');
  // /m1: 1000:1001 -> host HOST+5:HOST+7 -> 5:7 inside; the dir (0:0 on disk) is outside the mount's
  // maps: the overflow ids. /m2: 1000 -> HOST+1010 -> 1010, 1001 -> 1021; 0:0 -> 10:20.
  assert.equal(out.slice(0, 4), ['5 7', '65534 65534', '1010 1021', '10 20'], r.stdout);
  assert.match(out[4], /denied|Value too large|Permission denied/, 'container root (host HOST) has no id on /m1');
  assert.ok(Number(out[5]) >= 2, `idmapped mounts: ${out[5]}`);
  assert.not.ok(fs.existsSync(path.join(src, 'new')));
  assert.is.not(sb.tsrun(['state', id]).status, 0);
});

test('a pty is owned by the process uid as the namespace maps it; stdio owned by an unmapped host uid is left alone', () => {
  const owners = 'for f in 0 1 2; do stat -L -c %u:%g /proc/self/fd/$f; done';
  const r = new TtyReceiver();
  // Reachable by the namespace's root as long as the init itself connects to the socket.
  fs.chmodSync(r.dir, 0o755);
  fs.chmodSync(r.path, 0o777);
  try {
    const b = usernsBundle(`${owners}; stat -c %u /dev/console`, (c) => {
      c.process.terminal = true;
      c.process.user = { uid: 1000, gid: 1000 };
    });
    const id = sb.id();
    const c = sb.tsrun(['create', '--bundle', b, '--console-socket', r.path, id]);
    assert.is(c.status, 0, c.stderr);
    const got = r.receive();
    assert.is(sb.tsrun(['start', id]).status, 0);
    const out = readAll(got.master).replace(/\r/g, '').trim().split('\n');
    fs.closeSync(got.master);
    assert.equal(out, ['1000:5', '1000:5', '1000:5', '1000']);
  } finally {
    r.close();
  }

  // exec -t -u 1000 in the foreground.
  const b2 = usernsBundle('sleep 100');
  const id2 = sb.id();
  const d = sb.tsrun(['run', '-d', '--bundle', b2, id2]);
  assert.is(d.status, 0, d.stderr);
  const e = spawnSync(TSRUN, ['--root', sb.root, 'exec', '-t', '-u', '1000', id2, 'sh', '-c', 'stat -L -c %u /proc/self/fd/0; echo x > /dev/stdout'], { encoding: 'utf8', env: cleanEnv(), timeout: 20_000, stdio: ['ignore', 'pipe', 'pipe'] });
  assert.is(e.status, 0, e.stderr);
  assert.equal(e.stdout.trim().split('\n'), ['1000', 'x']);

  // Files owned by host root, which the namespace cannot map: the chown is refused and skipped (runc).
  const b3 = usernsBundle(owners, (c) => (c.process.user = { uid: 1000, gid: 1000 }));
  const p = sb.tsrun(['run', '--bundle', b3, sb.id()]);
  assert.is(p.status, 0, p.stderr);
  assert.equal(p.stdout.trim().split('\n'), ['65534:65534', '65534:65534', '65534:65534']);
});

test('idmap without any mapping is an error before anything runs', () => {
  const b = sb.bundle({ edit: (c) => c.mounts.push({ destination: '/e', type: 'bind', source: sb.dir, options: ['bind', 'idmap'] }) });
  const r = sb.tsrun(['run', '--bundle', b, sb.id()]);
  assert.is(r.status, 1);
  assert.match(r.stderr, /idmap\\?" needs uidMappings and gidMappings/);
});

test.run();
