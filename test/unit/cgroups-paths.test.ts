/** Layout detection, cgroupsPath resolution, conversions, device rules, command parsing. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';

import { blkioWeightToIoWeight, cleanPath, deviceRules, detectLayout, memorySwapToV2, resolvePaths, sharesToWeight } from '../../src/cgroups';
import { v1RuleString } from '../../src/cgroups/devices';
import { parseCpuList } from '../../src/cgroups/stats';
import { parseDuration } from '../../src/commands/events';
import { filterPs } from '../../src/commands/ps';
import { parseRam, resourcesFromFlags } from '../../src/commands/update';

const HYBRID = `31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
`;
const SELF = `4:memory:/user/a
2:cpu,cpuacct:/
1:name=systemd:/init.scope
0::/init.scope
`;

test('layout: v1 / v2 / hybrid from mountinfo', () => {
  const h = detectLayout(HYBRID, SELF);
  assert.is(h.mode, 'hybrid');
  assert.equal(h.v1.map((x) => x.controllers), [['cpu', 'cpuacct'], ['memory'], ['name=systemd']]);
  assert.is(h.unified?.mountPoint, '/sys/fs/cgroup/unified');
  assert.is(detectLayout(HYBRID.split('\n').filter((l) => !l.includes('cgroup2')).join('\n'), SELF).mode, 'v1');
  assert.is(detectLayout('41 31 0:38 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw,nsdelegate\n', '0::/user.slice/x.scope\n').mode, 'v2');
  assert.throws(() => detectLayout('', ''), /no cgroup filesystem/);
});

test('cgroupsPath: absolute, relative (own cgroup; v2 its parent), default = id, cleaned', () => {
  const l = detectLayout(HYBRID, SELF);
  assert.equal(resolvePaths(l, '/ctr/a', 'id'), {
    cpu: '/sys/fs/cgroup/cpu,cpuacct/ctr/a',
    cpuacct: '/sys/fs/cgroup/cpu,cpuacct/ctr/a',
    memory: '/sys/fs/cgroup/memory/ctr/a',
    'name=systemd': '/sys/fs/cgroup/systemd/ctr/a',
    '': '/sys/fs/cgroup/unified/ctr/a',
  });
  assert.equal(resolvePaths(l, undefined, 'c9'), {
    cpu: '/sys/fs/cgroup/cpu,cpuacct/c9',
    cpuacct: '/sys/fs/cgroup/cpu,cpuacct/c9',
    memory: '/sys/fs/cgroup/memory/user/a/c9',
    'name=systemd': '/sys/fs/cgroup/systemd/init.scope/c9',
    '': '/sys/fs/cgroup/unified/c9',
  });
  assert.is(resolvePaths(l, '../../x/y', 'id').memory, '/sys/fs/cgroup/memory/user/a/x/y');
  assert.is(resolvePaths(l, '/../../etc', 'id').memory, '/sys/fs/cgroup/memory/etc');
  assert.is(cleanPath('a/../../b/./c/'), 'b/c');
  // mount root not "/" (inside a container): own path is taken below the root
  const inCtr = detectLayout('35 31 0:32 /docker/abc /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n', '4:memory:/docker/abc/sub\n');
  assert.is(resolvePaths(inCtr, 'k', 'id').memory, '/sys/fs/cgroup/memory/sub/k');
});

test('conversions as runc', () => {
  assert.is(sharesToWeight(0), 0);
  assert.is(sharesToWeight(2), 1);
  assert.is(sharesToWeight(1024), 39);
  assert.is(sharesToWeight(262144), 10000);
  assert.is(blkioWeightToIoWeight(10), 1);
  assert.is(blkioWeightToIoWeight(500), 4950);
  assert.is(blkioWeightToIoWeight(1000), 10000);
  assert.is(memorySwapToV2(0, -1), -1);
  assert.is(memorySwapToV2(300, 100), 200);
  assert.is(memorySwapToV2(100, 100), 0);
  assert.is(memorySwapToV2(-1, 100), -1);
  assert.throws(() => memorySwapToV2(50, 100), /memory\+swap limit should be >= memory limit/);
  assert.throws(() => memorySwapToV2(50, 0), /without memory limit/);
});

test('device rules: deny all, spec rules, then runc defaults minus linux.devices overrides', () => {
  // No rules: still deny-by-default with the defaults (runc); only an unrestricted (rootless) caller gets none.
  assert.equal(deviceRules(undefined, undefined)!.map(v1RuleString), ['a', 'c *:* m', 'b *:* m', 'c 1:3 rwm', 'c 1:8 rwm', 'c 1:7 rwm', 'c 5:0 rwm', 'c 1:5 rwm', 'c 1:9 rwm', 'c 136:* rwm', 'c 5:2 rwm', 'c 10:200 rwm']);
  assert.equal(deviceRules(undefined, undefined)![0], { allow: false, type: 'a', major: -1, minor: -1, access: 'rwm' });
  assert.is(deviceRules(undefined, undefined, { unrestricted: true }), undefined);
  const r = deviceRules([{ allow: false, access: 'rwm' }], [{ type: 'c', path: '/dev/null', major: 1, minor: 3 }])!;
  assert.equal(r.map(v1RuleString), ['a', 'a', 'c *:* m', 'b *:* m', 'c 1:8 rwm', 'c 1:7 rwm', 'c 5:0 rwm', 'c 1:5 rwm', 'c 1:9 rwm', 'c 136:* rwm', 'c 5:2 rwm', 'c 10:200 rwm']);
  assert.throws(() => deviceRules([{ allow: true, type: 'x' }], undefined), /invalid device cgroup rule type/);
  // Letters other than rwm are dropped with a warning, as runc (its own suite sends "rwa").
  const warned: string[] = [];
  const d = deviceRules([{ allow: false, type: 'c', major: 1, minor: 11, access: 'rwa' }], [], { warn: (m) => warned.push(m) })!;
  assert.is(v1RuleString(d[1]), 'c 1:11 rw');
  assert.equal(warned.length, 1);
  assert.match(warned[0], /"rwa".*using "rw"/);
  assert.is(deviceRules([{ allow: true, type: 'c', major: 1, minor: 3, access: 'mwr' }], [], { warn: (m) => warned.push(m) })![1].access, 'rwm');
  assert.is(warned.length, 1, 'a permutation of rwm is not warned about');
  assert.throws(() => deviceRules([{ allow: true, type: 'c', major: 1, minor: 3, access: 'x' }], []), /invalid device cgroup access "x"/);
});

test('update flags: sizes like runc (go-units RAMInBytes), ints, -1', () => {
  assert.is(parseRam('memory', '512m'), 512 * 1024 * 1024);
  assert.is(parseRam('memory', '1.5g'), 1.5 * 1024 ** 3);
  assert.is(parseRam('memory', '1024'), 1024);
  assert.is(parseRam('memory', '2GiB'), 2 * 1024 ** 3);
  assert.is(parseRam('memory', '-1'), -1);
  assert.throws(() => parseRam('memory', '12x'), /invalid value for --memory/);
  assert.equal(resourcesFromFlags({ memory: '1g', memorySwap: '-1', cpuShare: '300', cpuQuota: '-1', cpusetCpus: '0', pidsLimit: 20, blkioWeight: 500 }), {
    memory: { limit: 1024 ** 3, swap: -1 },
    cpu: { shares: 300, quota: -1, cpus: '0' },
    pids: { limit: 20 },
    blockIO: { weight: 500 },
  });
  assert.equal(resourcesFromFlags({}), {});
});

test('events --interval, ps filtering, cpu lists', () => {
  assert.is(parseDuration('5s'), 5000);
  assert.is(parseDuration('1m30s'), 90000);
  assert.is(parseDuration('250ms'), 250);
  assert.throws(() => parseDuration('5'), /invalid --interval/);
  const out = 'UID PID PPID C STIME TTY TIME CMD\nroot 1 0 0 10:00 ? 00:00:01 init\nroot 42 1 0 10:00 ? 00:00:00 sleep 100\n';
  assert.is(filterPs(out, [42]), 'UID PID PPID C STIME TTY TIME CMD\nroot 42 1 0 10:00 ? 00:00:00 sleep 100\n');
  assert.throws(() => filterPs('USER X\n', []), /PID field/);
  assert.equal(parseCpuList('0-2,5'), [0, 1, 2, 5]);
});

test.run();
