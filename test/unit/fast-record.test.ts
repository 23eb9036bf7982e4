/**
 * src/state/fast.ts: the flat record the launcher's fast path reads — the same
 * directories the CLI would use (procs, freezer, cgroup.kill, created dirs with
 * their leaves), and no record at all where the C must leave calls to the CLI.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { fastRecord } from '../../src/state/fast';
import type { StateRecord } from '../../src/state/store';

function rec(cgroup: Record<string, unknown> | undefined): StateRecord {
  return { ociVersion: '1.3.0', id: 'c', pid: 10, initStartTime: '1', bundle: '/b', rootfs: '/b/rootfs', created: '', owner: 'root', cgroup };
}

const hybrid = {
  version: 1,
  mode: 'hybrid',
  paths: { pids: '/sys/fs/cgroup/pids/p/c', freezer: '/sys/fs/cgroup/freezer/p/c', '': '/sys/fs/cgroup/unified/p/c' },
  created: ['/sys/fs/cgroup/pids/p', '/sys/fs/cgroup/pids/p/c', '/sys/fs/cgroup/freezer/p/c', '/sys/fs/cgroup/unified/p/c'],
};

test('hybrid: procs from pids, the v1 freezer, created dirs parents first with their leaves', () => {
  assert.is(
    fastRecord(rec(hybrid), false, 0),
    [
      'tsrun-fast 1',
      'pidns shared',
      'poststop 0',
      'procs /sys/fs/cgroup/pids/p/c',
      'freezer v1 /sys/fs/cgroup/freezer/p/c',
      'dir /sys/fs/cgroup/pids/p',
      'leaf /sys/fs/cgroup/pids/p/c',
      'leaf /sys/fs/cgroup/freezer/p/c',
      'leaf /sys/fs/cgroup/unified/p/c',
      'end',
      '',
    ].join('\n'),
  );
});

test('cgroup2 alone: procs, freezer and cgroup.kill in the unified dir; no cgroup: no cgroup lines', () => {
  const v2 = { version: 1, mode: 'v2', paths: { '': '/sys/fs/cgroup/c' }, created: ['/sys/fs/cgroup/c'] };
  assert.is(
    fastRecord(rec(v2), true, 2),
    'tsrun-fast 1\npidns private\npoststop 2\nprocs /sys/fs/cgroup/c\nfreezer v2 /sys/fs/cgroup/c\ncgkill /sys/fs/cgroup/c\nleaf /sys/fs/cgroup/c\nend\n',
  );
  assert.is(fastRecord(rec(undefined), true, 0), 'tsrun-fast 1\npidns private\npoststop 0\nend\n');
});

test('no record where the C must not act: a systemd scope, a fake tree, a path the format cannot hold', () => {
  assert.is(fastRecord(rec({ ...hybrid, systemdUnit: 'tsrun-c.scope' }), true, 0), undefined, 'delete stops the scope over D-Bus');
  assert.is(fastRecord(rec({ ...hybrid, fake: true }), true, 0), undefined);
  assert.is(fastRecord(rec({ ...hybrid, created: ['/sys/fs/cgroup/pids/a\nb'] }), true, 0), undefined);
  assert.is(fastRecord(rec({ ...hybrid, paths: { pids: 'relative/c' }, created: [] }), true, 0), undefined);
});

test.run();
