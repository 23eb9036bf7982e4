/**
 * The systemd driver's pure parts: the D-Bus wire format (known bytes and
 * round trips of the types StartTransientUnit carries), slice expansion and
 * unit names as runc makes them, resources and device rules as unit
 * properties. The D-Bus conversation itself is tested against a real systemd
 * in test/integration/systemd-cgroup.test.ts.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { MsgType, decodeMessage, encodeMessage, messageLength, splitSignature } from '../../src/cgroups/dbus-wire';
import { systemBusPath } from '../../src/cgroups/dbus';
import { deviceProperties, expandSlice, resourceProperties, systemdUnit } from '../../src/cgroups/systemd';
import { deviceRules } from '../../src/cgroups/devices';

const hex = (b: Buffer): string => b.toString('hex').match(/../g)!.join(' ');

test('a method call encodes as the specification lays it out (header fields 8-aligned, array length without padding)', () => {
  const m = encodeMessage({ type: MsgType.MethodCall, serial: 1, path: '/a', member: 'X', signature: '', body: [] });
  assert.is(
    hex(m),
    '6c 01 00 01 00 00 00 00 01 00 00 00 1a 00 00 00 01 01 6f 00 02 00 00 00 2f 61 00 00 00 00 00 00 03 01 73 00 01 00 00 00 58 00 00 00 00 00 00 00',
  );
  assert.is(messageLength(m), m.length);
});

test('StartTransientUnit body (ssa(sv)a(sa(sv))) survives a round trip, u64 included', () => {
  const props = [
    ['Description', { sig: 's', value: 'x' }],
    ['Delegate', { sig: 'b', value: true }],
    ['PIDs', { sig: 'au', value: [42, 7] }],
    ['MemoryMax', { sig: 't', value: 0xffffffffffffffffn }],
    ['DeviceAllow', { sig: 'a(ss)', value: [['char-pts', 'rwm'], ['/dev/char/1:3', 'rwm']] }],
  ];
  const msg = { type: MsgType.MethodCall, serial: 9, path: '/org/freedesktop/systemd1', iface: 'org.freedesktop.systemd1.Manager', member: 'StartTransientUnit', destination: 'org.freedesktop.systemd1', signature: 'ssa(sv)a(sa(sv))', body: ['u.scope', 'replace', props, []] };
  const back = decodeMessage(encodeMessage(msg));
  assert.equal(back, msg);
});

test('messageLength waits for the fixed header, then counts header padding and body', () => {
  const m = encodeMessage({ type: MsgType.Signal, serial: 3, path: '/p', iface: 'i.f', member: 'JobRemoved', signature: 'uoss', body: [1, '/job/1', 'u.scope', 'done'] });
  assert.is(messageLength(m.subarray(0, 10)), 0);
  assert.is(messageLength(m), m.length);
  assert.equal(decodeMessage(m).body, [1, '/job/1', 'u.scope', 'done']);
  assert.equal(splitSignature('sa(sv)a{sv}u'), ['s', 'a(sv)', 'a{sv}', 'u']);
  assert.throws(() => splitSignature('a(s'), /unbalanced/);
});

test('slices expand as systemd names their cgroups; bad names are refused', () => {
  assert.is(expandSlice('system.slice'), '/system.slice');
  assert.is(expandSlice('-.slice'), '/');
  assert.is(expandSlice('kubepods-burstable-pod1.slice'), '/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1.slice');
  for (const bad of ['a--b.slice', '-a.slice', 'a-.slice', 'foo', 'a/b.slice']) assert.throws(() => expandSlice(bad), /invalid slice name/);
});

test('unit names: slice:prefix:name → <prefix>-<name>.scope; empty → system.slice:tsrun:<id> (user.slice rootless); runc\'s format error', () => {
  assert.equal(systemdUnit('kubepods.slice:cri-containerd:abc', 'x'), { unit: 'cri-containerd-abc.scope', slice: 'kubepods.slice', cgroupPath: '/kubepods.slice/cri-containerd-abc.scope' });
  assert.equal(systemdUnit(undefined, 'c1'), { unit: 'tsrun-c1.scope', slice: 'system.slice', cgroupPath: '/system.slice/tsrun-c1.scope' });
  assert.is(systemdUnit(undefined, 'c1', true).slice, 'user.slice');
  assert.is(systemdUnit(':p:n', 'x').cgroupPath, '/system.slice/p-n.scope');
  assert.throws(() => systemdUnit('/a/b', 'x'), /expected cgroupsPath to be of format "slice:prefix:name" for systemd cgroups, got "\/a\/b" instead/);
});

test('resources as unit properties: v2 names on cgroup2, v1 names otherwise; -1 is infinity; quota per second rounded up to 10 ms', () => {
  const r = { memory: { limit: 1 << 20 }, cpu: { shares: 1024, quota: 12345, period: 100000 }, pids: { limit: -1 } };
  const v2 = Object.fromEntries((resourceProperties(r, true) as [string, { value: unknown }][]).map(([k, v]) => [k, v.value]));
  assert.equal(v2, { MemoryMax: 1048576n, CPUWeight: 39n, CPUQuotaPerSecUSec: 130000n, TasksMax: 0xffffffffffffffffn });
  const v1 = Object.fromEntries((resourceProperties(r, false) as [string, { value: unknown }][]).map(([k, v]) => [k, v.value]));
  assert.equal(Object.keys(v1).sort(), ['CPUQuotaPerSecUSec', 'CPUShares', 'MemoryLimit', 'TasksMax']);
  assert.equal(resourceProperties(undefined, true), []);
});

test('device rules as DevicePolicy/DeviceAllow: strict with runc\'s defaults; allow-all is auto; majors by name from /proc/devices', () => {
  const proc = (): string => 'Character devices:\n  1 mem\n136 pts\n\nBlock devices:\n  8 sd\n';
  const strict = deviceProperties(deviceRules(undefined, undefined), proc) as [string, { value: unknown }][];
  assert.is(strict[0][1].value, 'strict');
  const allow = strict[1][1].value as [string, string][];
  assert.ok(allow.some(([d, a]) => d === 'char-pts' && a === 'rwm'));
  assert.ok(allow.some(([d]) => d === '/dev/char/1:3'));
  assert.ok(allow.some(([d, a]) => d === 'char-*' && a === 'm'));
  const all = deviceProperties([{ allow: true, type: 'a', major: -1, minor: -1, access: 'rwm' }], proc) as [string, { value: unknown }][];
  assert.equal(all.map(([k, v]) => [k, v.value]), [['DevicePolicy', 'auto']]);
  assert.equal(deviceProperties(undefined, proc), []);
  const blk = deviceProperties([{ allow: true, type: 'b', major: 8, minor: -1, access: 'r' }], proc) as [string, { value: unknown }][];
  assert.equal(blk[1][1].value, [['block-sd', 'r']]);
});

test('system bus address from DBUS_SYSTEM_BUS_ADDRESS, else the default socket', () => {
  assert.is(systemBusPath({ DBUS_SYSTEM_BUS_ADDRESS: 'unix:path=/x/bus,guid=1' }), '/x/bus');
  assert.is(systemBusPath({}), '/run/dbus/system_bus_socket');
});

test.run();
