/** Mount options beyond the basics, in real containers. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Sandbox } from '../helpers/tsrun';

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

test.run();
