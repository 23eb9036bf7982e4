import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { buildFeatures, supportedMountOptions } from '../../src/commands/features';
import { validateFeatures } from '../../src/config/validators';
import { seccompFeatures } from '../../src/seccomp';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseMountOptions } from '../../src/plan/mount-options';
import { CAPABILITIES, capabilityNumber } from '../../src/plan/capabilities';
import { MPOL_MODES } from '../../src/plan/process-extras';
import { buildPlan } from '../../src/plan/build';
import { defaultSpec } from '../../src/spec/default';
import { parseMountinfoCgroups, parseProcCgroup } from '../../src/plan/host-cgroups';
import type { Spec } from '../../src/config/types';

const doc = buildFeatures() as Record<string, any>;

test('the features document is valid against features-schema.json', () => {
  assert.equal(validateFeatures(doc), []);
  assert.is(doc.ociVersionMin, '1.0.0');
  assert.is(doc.ociVersionMax, '1.3.0');
  assert.type(doc.annotations['org.opencontainers.tsrun.version'], 'string');
  assert.equal(doc.potentiallyUnsafeConfigAnnotations, []);
});

test('every listed mount option is consumed by the mount option parser', () => {
  assert.ok(doc.mountOptions.length > 20);
  for (const o of doc.mountOptions) assert.is(parseMountOptions([o], 'x').data, '', o);
  assert.equal(doc.mountOptions, supportedMountOptions());
  assert.not.ok(doc.mountOptions.includes('acl'), 'acl would be passed to mount(2) as data');
});

test('every listed capability and namespace is known to the plan builder', () => {
  for (const c of doc.linux.capabilities) assert.type(capabilityNumber(c), 'number', c);
  assert.is(doc.linux.capabilities.length, CAPABILITIES.length);
  for (const ns of doc.linux.namespaces) {
    const config = defaultSpec({ args: ['sh'] }) as unknown as Spec;
    if (!config.linux!.namespaces!.some((n) => n.type === ns)) config.linux!.namespaces!.push({ type: ns });
    if (ns === 'user') {
      config.linux!.uidMappings = [{ containerID: 0, hostID: 1000, size: 1 }];
      config.linux!.gidMappings = [{ containerID: 0, hostID: 1000, size: 1 }];
    }
    buildPlan({
      config, rootfs: '/r', bundle: '/b', fifoPath: '/f', noPivot: false, preserveFds: 0,
      cgroups: { mounts: parseMountinfoCgroups(''), self: parseProcCgroup('0::/\n') }, isDirectory: () => true,
    });
  }
});

test('memoryPolicy modes are the ones the plan encodes; seccomp is honest', () => {
  assert.equal(doc.linux.memoryPolicy.modes, Object.keys(MPOL_MODES));
  assert.equal(doc.linux.seccomp, seccompFeatures(), 'seccomp: what src/seccomp probes');
  assert.equal(doc.linux.mountExtensions, { idmap: { enabled: parseMountOptions(['idmap'], 'x').idmap === 'idmap' } });
  assert.equal(doc.linux.cgroup.systemd, false);
  assert.equal(doc.linux.netDevices, { enabled: true });
});

test('hooks: the six kinds of config-schema.json', () => {
  const schema = JSON.parse(fs.readFileSync(path.join(__dirname, '../../../schemas/config-schema.json'), 'utf8'));
  assert.equal([...doc.hooks].sort(), Object.keys(schema.properties.hooks.properties).sort());
});

test.run();
