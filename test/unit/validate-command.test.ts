/** `tsrun validate`: every problem at once, with pointers and spec sections; create points at it. */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { hostHugepageSizes } from '../../src/config/diagnose';
import { fieldToPointer, specLink } from '../../src/config/spec-links';
import { defaultSpec } from '../../src/spec/default';

const BIN = path.join(path.resolve(__dirname, '../../..'), 'bin/tsrun');

function tsrun(args: string[]) {
  const r = spawnSync(BIN, args, { encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** A bundle whose rootfs has /bin/sh (an empty file with x bits: validate never runs it). */
function bundle(edit: (c: Record<string, any>) => void): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsrun-validate-'));
  fs.mkdirSync(path.join(dir, 'rootfs/bin'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'rootfs/bin/sh'), '', { mode: 0o755 });
  const c = JSON.parse(JSON.stringify(defaultSpec({}))) as Record<string, any>;
  edit(c);
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(c));
  return dir;
}

interface Finding { level: string; check: string; pointer: string; message: string; spec: string }

function findings(dir: string): { code: number | null; valid: boolean; findings: Finding[] } {
  const r = tsrun(['validate', '--bundle', dir, '--format', 'json']);
  const doc = JSON.parse(r.stdout) as { valid: boolean; findings: Finding[] };
  return { code: r.code, ...doc };
}

test('a valid bundle: exit 0, "valid" in the summary', () => {
  const dir = bundle(() => {});
  const r = tsrun(['validate', '--bundle', dir]);
  assert.is(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /config\.json: valid, 0 errors/);
});

test('every schema error at once, each with its pointer and spec section', () => {
  const dir = bundle((c) => {
    c.process.cwd = 1;
    c.hostname = 7;
    c.linux.resources = { memory: { limit: 'lots' } };
    c.mounts[0].destination = 3;
  });
  const f = findings(dir);
  assert.is(f.code, 1);
  assert.is(f.valid, false);
  const byPointer = new Map(f.findings.filter((x) => x.check === 'schema').map((x) => [x.pointer, x]));
  for (const p of ['/process/cwd', '/hostname', '/linux/resources/memory/limit', '/mounts/0/destination']) assert.ok(byPointer.has(p), `${p} in ${JSON.stringify(f.findings)}`);
  assert.match(byPointer.get('/linux/resources/memory/limit')!.spec, /config-linux\.md#configLinuxMemory$/);
  assert.match(byPointer.get('/hostname')!.spec, /config\.md#configHostname$/);
  assert.match(byPointer.get('/process/cwd')!.message, /must be string/);
});

test('schema and semantic errors together; the text report counts them', () => {
  const dir = bundle((c) => {
    c.hostname = 7;
    c.linux.namespaces.push({ type: 'pid' });
    c.linux.namespaces.push({ type: 'network', path: 'relative/ns' });
  });
  const f = findings(dir);
  const semantic = f.findings.filter((x) => x.check === 'semantic' && x.level === 'error').map((x) => x.pointer);
  assert.ok(semantic.some((p) => p.startsWith('/linux/namespaces/')), JSON.stringify(f.findings));
  assert.ok(f.findings.some((x) => x.check === 'schema' && x.pointer === '/hostname'));
  const text = tsrun(['validate', '--bundle', dir]);
  const errors = f.findings.filter((x) => x.level === 'error').length;
  assert.ok(errors >= 3);
  assert.match(text.stdout, new RegExp(`invalid, ${errors} errors`));
});

test('host findings: a hugepage size the host lacks, a capability outside its bounding set', () => {
  const sizes = new Set(hostHugepageSizes());
  const absent = ['64KB', '32MB', '16GB', '1GB', '2MB'].find((s) => !sizes.has(s))!;
  const dir = bundle((c) => {
    c.linux.resources = { hugepageLimits: [{ pageSize: absent, limit: 0 }] };
  });
  const f = findings(dir);
  const hp = f.findings.find((x) => x.pointer === '/linux/resources/hugepageLimits/0/pageSize');
  assert.ok(hp && hp.check === 'host', JSON.stringify(f.findings));
  assert.match(hp!.message, absent);
  const bnd = BigInt(`0x${/^CapBnd:\s*([0-9a-f]+)$/m.exec(fs.readFileSync('/proc/self/status', 'utf8'))![1]}`);
  const missing = [...Array(41).keys()].find((n) => ((bnd >> BigInt(n)) & 1n) === 0n);
  if (missing === undefined) {
    console.log('SKIP: host findings for capabilities: this host\'s bounding set has every capability');
    return;
  }
  const { CAPABILITIES } = require('../../src/config/semantic') as typeof import('../../src/config/semantic');
  const name = Object.entries(CAPABILITIES).find(([, n]) => n === missing)![0];
  const d2 = bundle((c) => c.process.capabilities.bounding.push(name));
  assert.ok(findings(d2).findings.some((x) => x.check === 'host' && x.message.includes(name)));
});

test('create prints the first error and the count, and points at tsrun validate', () => {
  const dir = bundle((c) => {
    c.process.cwd = 1;
    c.hostname = 7;
  });
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'tsrun-validate-root-'));
  const r = tsrun(['--root', root, 'create', '--bundle', dir, `v-${process.pid}`]);
  assert.is(r.code, 1);
  assert.match(r.stderr, /and 1 more: `tsrun validate --bundle /);
  assert.equal(fs.readdirSync(root).filter((e) => !e.startsWith('.')), []);
});

test('spec links and field pointers', () => {
  assert.is(fieldToPointer('linux.namespaces[2].path'), '/linux/namespaces/2/path');
  assert.is(fieldToPointer('not a field'), '/');
  assert.match(specLink('/linux/resources/blockIO/weight'), /#configLinuxBlockIO$/);
  assert.match(specLink('/mounts/3/options/1'), /#configLinuxMountOptions$/);
  assert.match(specLink('/nonsense'), /config\.md#configuration$/);
});

test.run();
