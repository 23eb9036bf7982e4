/** linux.devices and the default devices on real containers. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Sandbox } from '../helpers/tsrun';

const sb = new Sandbox('tsrun-devices-');
test.after(() => sb.cleanup());

test('default devices: char nodes, 0666, root-owned, usable', () => {
  const b = sb.bundle({ args: ['sh', '-c', 'for d in null zero full random urandom tty; do stat -c "%n %F %t:%T %a %u:%g" /dev/$d; done; head -c 2 /dev/urandom | wc -c'] });
  const r = sb.tsrun(['run', '--bundle', b, sb.id()]);
  assert.is(r.status, 0, r.stderr);
  assert.equal(r.stdout.trim().split('\n'), [
    '/dev/null character special file 1:3 666 0:0',
    '/dev/zero character special file 1:5 666 0:0',
    '/dev/full character special file 1:7 666 0:0',
    '/dev/random character special file 1:8 666 0:0',
    '/dev/urandom character special file 1:9 666 0:0',
    '/dev/tty character special file 5:0 666 0:0',
    '2',
  ]);
});

test('explicit devices: type, numbers, fileMode (umask ignored), uid, gid; explicit /dev/null overrides the default', () => {
  const b = sb.bundle({
    args: ['sh', '-c', 'stat -c "%n %F %t:%T %a %u:%g" /dev/null /dev/blk /dev/fifo /dev/sub/dir/node'],
    edit: (c) => {
      c.process.user.umask = 0o077;
      c.linux.devices = [
        { path: '/dev/null', type: 'c', major: 1, minor: 3, fileMode: 0o620, uid: 7, gid: 8 },
        { path: '/dev/blk', type: 'b', major: 7, minor: 0, fileMode: 0o660, uid: 0, gid: 6 },
        { path: '/dev/fifo', type: 'p', fileMode: 0o606 },
        { path: '/dev/sub/dir/node', type: 'c', major: 1, minor: 5 },
      ];
    },
  });
  const r = sb.tsrun(['run', '--bundle', b, sb.id()]);
  assert.is(r.status, 0, r.stderr);
  assert.equal(r.stdout.trim().split('\n'), [
    '/dev/null character special file 1:3 620 7:8',
    '/dev/blk block special file 7:0 660 0:6',
    '/dev/fifo fifo 0:0 606 0:0',
    '/dev/sub/dir/node character special file 1:5 666 0:0',
  ]);
});

test('a device without major/minor is refused before anything runs', () => {
  const b = sb.bundle({ edit: (c) => (c.linux.devices = [{ path: '/dev/x', type: 'c' }]) });
  const r = sb.tsrun(['run', '--bundle', b, sb.id()]);
  assert.is(r.status, 1);
  assert.match(r.stderr, /major and minor are required/);
});


test('podman --privileged: fileMode with the file type bits (8630 = S_IFCHR|0666) is accepted and masked (src/config/deviations.ts)', () => {
  const b = sb.bundle({
    args: ['stat', '-c', '%n %F %t:%T %a', '/dev/podnull', '/dev/podblk'],
    edit: (c) => {
      c.linux.devices = [
        { path: '/dev/podnull', type: 'c', major: 1, minor: 3, fileMode: 8630 },
        // Type bits that do not match the type: a warning, the permission bits still apply.
        { path: '/dev/podblk', type: 'b', major: 7, minor: 0, fileMode: 0o020640 },
      ];
    },
  });
  const r = sb.tsrun(['run', '--bundle', b, sb.id()]);
  assert.is(r.status, 0, r.stderr);
  assert.equal(r.stdout.trim().split('\n'), ['/dev/podnull character special file 1:3 666', '/dev/podblk block special file 7:0 640']);
  assert.match(r.stderr, /linux\.devices\[1\]\.fileMode: .*not those of type \\?"b\\?"/);
  assert.not.match(r.stderr, /linux\.devices\[0\]/, 'matching type bits are not warned about');
});

test.run();
