/** Mount options beyond the basics, in real containers. */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Sandbox, TSRUN, cleanEnv } from '../helpers/tsrun';

const sb = new Sandbox('tsrun-mounts-');
test.after(() => sb.cleanup());

test('tmpcopyup: a tmpfs over a read-only root starts with a copy of what it covers (podman --read-only)', () => {
  const b = sb.bundle({
    args: ['sh', '-c', 'stat -c "%a %u:%g" /etc /etc/sub; cat /etc/sub/f; readlink /etc/link; echo new > /etc/new && cat /etc/new; grep " /etc " /proc/mounts | cut -d" " -f3'],
    edit: (c) => c.mounts.push({ destination: '/etc', type: 'tmpfs', source: 'tmpfs', options: ['tmpcopyup', 'nosuid', 'nodev'] }),
  });
  const etc = path.join(b, 'rootfs/etc');
  fs.chmodSync(etc, 0o751);
  fs.mkdirSync(path.join(etc, 'sub'));
  fs.chmodSync(path.join(etc, 'sub'), 0o705);
  fs.chownSync(path.join(etc, 'sub'), 123, 456);
  fs.writeFileSync(path.join(etc, 'sub/f'), 'content\n');
  fs.symlinkSync('sub/f', path.join(etc, 'link'));
  const r = sb.tsrun(['run', '--bundle', b, sb.id()]);
  assert.is(r.status, 0, r.stderr);
  assert.is(r.stdout, '751 0:0\n705 123:456\ncontent\nsub/f\nnew\ntmpfs\n');
  assert.not.ok(fs.existsSync(path.join(etc, 'new')), 'the write went to the tmpfs, not the rootfs');
});

test('tmpcopyup is refused on anything but tmpfs', () => {
  const b = sb.bundle({ args: ['true'], edit: (c) => c.mounts.push({ destination: '/mnt', type: 'proc', source: 'proc', options: ['tmpcopyup'] }) });
  const r = sb.tsrun(['create', '--bundle', b, sb.id()]);
  assert.is(r.status, 1);
  assert.match(r.stderr, /tmpcopyup/);
});

test('a read-only /dev and tmpfs: mount points, devices, links and /dev/console are made first, read-only at the end (runc)', () => {
  const b = sb.bundle({
    args: ['sh', '-c', 'grep -E " /dev(/ro)? " /proc/self/mountinfo | cut -d" " -f5,6; ls -1d /dev/pts/ptmx /dev/null /dev/ro/sub /dev/console; readlink /dev/stdout; touch /dev/x 2>/dev/null || echo dev-ro; touch /dev/ro/x 2>/dev/null || echo ro-ro; touch /dev/ro/sub/x && echo sub-rw'],
    terminal: true,
    edit: (c) => {
      c.mounts.find((m: { destination: string }) => m.destination === '/dev').options.push('ro');
      c.mounts.push({ destination: '/dev/ro', type: 'tmpfs', source: 'tmpfs', options: ['ro', 'nosuid'] });
      c.mounts.push({ destination: '/dev/ro/sub', type: 'tmpfs', source: 'tmpfs', options: [] });
    },
  });
  // Foreground with a terminal: /dev/console is created in /dev too.
  const r = spawnSync(TSRUN, ['--root', sb.root, 'run', '--bundle', b, sb.id()], { encoding: 'utf8', env: cleanEnv(), timeout: 20_000, stdio: ['ignore', 'pipe', 'pipe'] });
  assert.is(r.status, 0, r.stderr);
  assert.equal(r.stdout.trim().split('\n'), [
    '/dev ro,nosuid',
    '/dev/ro ro,nosuid,relatime',
    '/dev/console',
    '/dev/null',
    '/dev/pts/ptmx',
    '/dev/ro/sub',
    '/proc/self/fd/1',
    'dev-ro',
    'ro-ro',
    'sub-rw',
  ]);
});

test('rootfsPropagation "unbindable": the rootfs is bound first, then / is made unbindable after the pivot', () => {
  const b = sb.bundle({ args: ['sh', '-c', 'awk \'$5 == "/" { print $7 }\' /proc/self/mountinfo'], edit: (c) => (c.linux.rootfsPropagation = 'unbindable') });
  const r = sb.tsrun(['run', '--bundle', b, sb.id()]);
  assert.is(r.status, 0, r.stderr);
  assert.is(r.stdout, 'unbindable\n');
});

test.run();
