/**
 * src/config/deviations.ts: one test per known deviation from the schema
 * (DEVIATIONS), the docs list every one, and nothing else is let through.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { DEVIATIONS, normalizeDeviations } from '../../src/config/deviations';
import { loadBundleConfig } from '../../src/config/load';
import { validateConfig } from '../../src/config/validators';
import { defaultSpec } from '../../src/spec/default';

const REPO = path.resolve(__dirname, '../../..');
const tmpDirs: string[] = [];
test.after(() => {
  for (const d of tmpDirs) fs.rmSync(d, { recursive: true, force: true });
});

function spec(devices: unknown[]): Record<string, any> {
  const c = defaultSpec({ args: ['sh'], terminal: false }) as Record<string, any>;
  c.linux.devices = devices;
  return c;
}

/** Each entry's test: the raw form is refused by the schema alone, accepted after normalisation. */
const CASES: Record<string, () => void> = {
  'device-filemode-type-bits': () => {
    // podman --privileged: the host device's st_mode, S_IFCHR|0666.
    const podman = spec([
      { path: '/dev/null', type: 'c', major: 1, minor: 3, fileMode: 8630, uid: 0, gid: 0 },
      { path: '/dev/loop0', type: 'b', major: 7, minor: 0, fileMode: 0o060660 },
      { path: '/dev/fifo', type: 'p', fileMode: 0o010600 },
      { path: '/dev/plain', type: 'u', major: 1, minor: 5, fileMode: 0o644 },
    ]);
    assert.ok(validateConfig(JSON.parse(JSON.stringify(podman))).length > 0, 'the schema alone refuses it');
    assert.equal(normalizeDeviations(podman), [], 'matching type bits are accepted silently');
    assert.equal(podman.linux.devices.map((d: { fileMode: number }) => d.fileMode), [0o666, 0o660, 0o600, 0o644]);
    assert.equal(validateConfig(podman), []);
    // Type bits of another type: a warning, and the permission bits are used.
    const wrong = spec([{ path: '/dev/x', type: 'b', major: 7, minor: 0, fileMode: 0o020640 }]);
    const w = normalizeDeviations(wrong);
    assert.is(w.length, 1);
    assert.match(w[0], /^linux\.devices\[0\]\.fileMode: 8608 \(020640\) carries file type bits 020000 that are not those of type "b"/);
    assert.is(wrong.linux.devices[0].fileMode, 0o640);
    // Nothing else passes: setuid bits, bits above S_IFMT, negative, fractions, a bad type.
    for (const fileMode of [0o4666, 0o1000000 | 0o666, -1, 8630.5]) {
      const bad = spec([{ path: '/dev/y', type: 'c', major: 1, minor: 3, fileMode }]);
      assert.equal(normalizeDeviations(bad), []);
      assert.is(bad.linux.devices[0].fileMode, fileMode);
      assert.ok(validateConfig(bad).length > 0, `fileMode ${fileMode} is still refused`);
    }
    const badType = spec([{ path: '/dev/z', type: 'q', major: 1, minor: 3, fileMode: 8630 }]);
    normalizeDeviations(badType);
    assert.ok(validateConfig(badType).length > 0);
  },
};

for (const d of DEVIATIONS) {
  test(`deviation ${d.id} (${d.field})`, () => {
    const t = CASES[d.id];
    assert.ok(t, `deviation ${d.id} has no test case`);
    t();
  });
}

test('every deviation is documented in docs/deviations.md, and every case names a listed deviation', () => {
  const doc = fs.readFileSync(path.join(REPO, 'docs/deviations.md'), 'utf8');
  for (const d of DEVIATIONS) {
    assert.ok(doc.includes(`\`${d.id}\``), `docs/deviations.md lists ${d.id}`);
    assert.ok(doc.includes(d.field), `docs/deviations.md names ${d.field}`);
  }
  assert.equal(Object.keys(CASES).sort(), DEVIATIONS.map((d) => d.id).sort());
});

test('loadBundleConfig: a podman --privileged device is accepted, the warning is returned', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsrun-deviations-'));
  tmpDirs.push(dir);
  fs.mkdirSync(path.join(dir, 'rootfs/bin'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'rootfs/bin/sh'), '', { mode: 0o755 });
  const c = spec([
    { path: '/dev/null', type: 'c', major: 1, minor: 3, fileMode: 8630 },
    { path: '/dev/blk', type: 'b', major: 7, minor: 0, fileMode: 8630 },
  ]);
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(c));
  const loaded = loadBundleConfig(dir);
  assert.equal(loaded.config.linux!.devices!.map((d) => d.fileMode), [0o666, 0o666]);
  assert.ok(loaded.warnings.some((w) => w.startsWith('linux.devices[1].fileMode: 8630')), loaded.warnings.join('\n'));
});

test.run();
