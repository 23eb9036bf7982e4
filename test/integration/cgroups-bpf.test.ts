/**
 * cgroup v2 device control on this host's real cgroup2 hierarchy (root only):
 * a BPF_CGROUP_DEVICE program from src/cgroups/bpf.ts, loaded and attached by
 * the addon, refuses a device to a process moved into the cgroup. Device
 * programs apply on the unified hierarchy even when no controller is enabled
 * there (hybrid hosts: /sys/fs/cgroup/unified). Everything lives under
 * <cgroup2>/tsrun-bpf-<pid>/ and is removed in after().
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { killAndRemoveCgroup } from '../helpers/cgroups';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { deviceRules, hostLayout, prepareCgroup, type CgroupHandle } from '../../src/cgroups';
import { attachDeviceFilter, deviceFilterIds } from '../../src/cgroups/bpf-native';
import type { DeviceRule } from '../../src/cgroups/types';


const isRoot = process.getuid?.() === 0;
const layout = isRoot ? hostLayout() : undefined;
const U = layout?.unified?.mountPoint;
const BASE = U ? path.join(U, `tsrun-bpf-${process.pid}`) : '';
const rootCtl = U ? fs.readFileSync(path.join(U, 'cgroup.subtree_control'), 'utf8').trim().split(/\s+/).filter(Boolean) : [];
const handles: CgroupHandle[] = [];

test.after(() => {
  for (const h of handles) {
    try {
      h.destroy();
    } catch {
      /* swept below */
    }
  }
  if (BASE) killAndRemoveCgroup(BASE);
  if (U) {
    const file = path.join(U, 'cgroup.subtree_control');
    for (const c of fs.readFileSync(file, 'utf8').trim().split(/\s+/).filter(Boolean)) {
      if (rootCtl.includes(c)) continue;
      try {
        fs.writeFileSync(file, `-${c}`);
      } catch {
        /* in use elsewhere */
      }
    }
  }
});

/** Runs a shell inside cgroup2 directory `dir` (it moves itself there first); returns stdout+stderr. */
function shIn(dir: string, script: string): string {
  const r = spawnSync('sh', ['-c', `echo $$ > ${dir}/cgroup.procs || exit 99; ${script}`], { encoding: 'utf8', timeout: 10_000 });
  assert.is.not(r.status, 99, `could not join ${dir}: ${r.stderr}`);
  return r.stdout + r.stderr;
}

const PROBE = 'if echo x > /dev/null; then echo null=ok; else echo null=refused; fi; if head -c 3 /dev/zero | wc -c | grep -q 3; then echo zero=ok; else echo zero=refused; fi';

test('a program denying c 1:3: /dev/null refused with EPERM, /dev/zero works (no controllers needed)', () => {
  if (!isRoot || !U) return console.log('  (skipped: needs root and a cgroup2 mount)');
  const dir = path.join(BASE, 'deny-null');
  fs.mkdirSync(dir, { recursive: true });
  console.log(`  cgroup2 controllers enabled at ${U}: ${JSON.stringify(fs.readFileSync(path.join(U, 'cgroup.subtree_control'), 'utf8').trim())}`);
  const rules: DeviceRule[] = [
    { allow: true, type: 'a', major: -1, minor: -1, access: 'rwm' },
    { allow: false, type: 'c', major: 1, minor: 3, access: 'rwm' },
  ];
  // Before: no filter, both work.
  assert.match(shIn(dir, PROBE), /null=ok\nzero=ok/);
  const a = attachDeviceFilter(dir, rules);
  assert.ok(a.progId > 0);
  assert.equal(deviceFilterIds(dir), [a.progId]);
  const out = shIn(dir, PROBE);
  assert.match(out, /Operation not permitted/, out);
  assert.match(out, /null=refused\nzero=ok/);
  // Re-attaching replaces (never two filters, never none).
  const b = attachDeviceFilter(dir, [{ allow: true, type: 'a', major: -1, minor: -1, access: 'rwm' }]);
  assert.is(b.detached, 1);
  assert.equal(deviceFilterIds(dir), [b.progId]);
  assert.match(shIn(dir, PROBE), /null=ok\nzero=ok/);
  // Read-only access: reading /dev/zero is fine, writing /dev/zero refused.
  attachDeviceFilter(dir, [{ allow: false, type: 'a', major: -1, minor: -1, access: 'rwm' }, { allow: true, type: 'c', major: 1, minor: 5, access: 'r' }]);
  const ro = shIn(dir, 'head -c 2 /dev/zero | wc -c; echo y > /dev/zero && echo zero-w=ok');
  assert.match(ro, /^2\n/);
  assert.not.match(ro, /zero-w=ok/);
});

test("a container's rule list (deny all, runc's default allows, /dev/null overridden by linux.devices)", () => {
  if (!isRoot || !U) return console.log('  (skipped: needs root and a cgroup2 mount)');
  const dir = path.join(BASE, 'container-rules');
  fs.mkdirSync(dir, { recursive: true });
  const rules = deviceRules([{ allow: false, access: 'rwm' }, { allow: false, type: 'c', major: 1, minor: 3, access: 'rwm' }], [{ path: '/dev/null', type: 'c', major: 1, minor: 3 }])!;
  attachDeviceFilter(dir, rules);
  assert.match(shIn(dir, PROBE + '; head -c 1 /dev/urandom | wc -c'), /null=refused\nzero=ok\n1\n/);
});

test('prepareCgroup in v2 mode on the real cgroup2 tree attaches the filter (no "not enforced" warning); destroy removes it', () => {
  if (!isRoot || !U) return console.log('  (skipped: needs root and a cgroup2 mount)');
  const h = prepareCgroup({
    id: 'bpf-v2',
    cgroupsPath: `/tsrun-bpf-${process.pid}/v2`,
    systemd: false,
    resources: { devices: [{ allow: false, access: 'rwm' }] },
    devices: [{ path: '/dev/null', type: 'c', major: 1, minor: 3 }],
  }, U);
  handles.push(h);
  assert.is(h.record.mode, 'v2');
  const dir = h.record.paths[''];
  assert.is(dir, path.join(BASE, 'v2'));
  assert.equal(h.warnings.filter((w) => /device/i.test(w)), []);
  assert.is(deviceFilterIds(dir).length, 1);
  assert.match(shIn(dir, PROBE), /null=refused\nzero=ok/);
  h.destroy();
  assert.not.ok(fs.existsSync(dir));
});

test.run();
