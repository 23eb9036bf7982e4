import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadValidators, type ValidationError } from '../../src/config/validators';
import { checkSemantics, resolveInRoot } from '../../src/config/semantic';
import { ConfigError, loadBundleConfig } from '../../src/config/load';
import { TsrunError } from '../../src/errors';
import type { Spec } from '../../src/config/types';

// Compiled to dist/test/unit; the fixtures stay in the source tree.
const repo = path.resolve(__dirname, '../../..');
const fixtures = path.join(repo, 'test/fixtures/schema');

const tmpDirs: string[] = [];
function tmp(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'tsrun-validate-'));
  tmpDirs.push(d);
  return d;
}
test.after(() => {
  for (const d of tmpDirs) fs.rmSync(d, { recursive: true, force: true });
});

// --- schema fixtures ---------------------------------------------------------

for (const kind of ['config', 'state', 'features'] as const) {
  for (const expect of ['good', 'bad'] as const) {
    const dir = path.join(fixtures, kind, expect);
    for (const f of fs.readdirSync(dir).filter((n) => n.endsWith('.json'))) {
      test(`schema ${kind}/${expect}/${f}`, () => {
        const text = fs.readFileSync(path.join(dir, f), 'utf8');
        let doc: unknown;
        try {
          doc = JSON.parse(text);
        } catch {
          assert.is(expect, 'bad', 'only bad fixtures may be unparsable');
          return;
        }
        const errs = loadValidators()[kind](doc);
        if (expect === 'good') assert.equal(errs, [], JSON.stringify(errs));
        else {
          assert.ok(errs.length > 0, 'bad fixture must fail');
          for (const e of errs) {
            assert.ok(e.path.startsWith('/'), `path is a JSON pointer: ${e.path}`);
            assert.ok(e.message.length > 0);
          }
        }
      });
    }
  }
}

function config(errs: ValidationError[], path: string): string | undefined {
  return errs.find((e) => e.path === path)?.message;
}


test('the generated validators require nothing (src/util/code-cache.ts hands them its own require)', () => {
  const code = fs.readFileSync(path.resolve(__dirname, '../../src/config/validators.generated.js'), 'latin1');
  assert.not.match(code, /\brequire\s*\(/);
});

test('schema errors name the path and what was expected', () => {
  const v = loadValidators();
  const errs = v.config({
    ociVersion: '1.0.0',
    process: { user: { uid: 0, gid: 0 }, args: ['sh'], cwd: 5 },
    linux: { namespaces: [{ type: 'bogus' }] },
  });
  assert.match(config(errs, '/process/cwd') ?? '', /^must be string/);
  assert.match(config(errs, '/linux/namespaces/0/type') ?? '', /must be one of .*"pid".*got "bogus"/);
  const missing = v.config({ ociVersion: '1.0.0', process: { user: { uid: 0, gid: 0 }, args: ['sh'] } });
  assert.is(config(missing, '/process'), 'missing required property "cwd"');
  const root = v.config({});
  assert.is(config(root, '/'), 'missing required property "ociVersion"');
  const hp = v.config({ ociVersion: '1.0.0', linux: { resources: { hugepageLimits: [{ limit: 1, pageSize: '64kB' }] } } });
  assert.match(config(hp, '/linux/resources/hugepageLimits/0/pageSize') ?? '', /pattern/);
});

test('anyOf noise is reduced to the specific error', () => {
  const errs = loadValidators().config({ ociVersion: '1.0.0', linux: { namespaces: ['pid'] } });
  assert.equal(errs, [{ path: '/linux/namespaces/0', message: 'must be object (got "pid")' }]);
  const state = loadValidators().state({ ociVersion: '1.0.0', id: 'x', status: 'created', bundle: 7 });
  assert.is(config(state, '/bundle'), 'must be string (got 7)');
});

// --- a tiny rootfs ------------------------------------------------------------

function makeRootfs(): string {
  const root = tmp();
  const rootfs = path.join(root, 'rootfs');
  for (const d of ['bin', 'usr/bin', 'usr/local/bin', 'etc', 'opt/app', 'lib']) fs.mkdirSync(path.join(rootfs, d), { recursive: true });
  fs.writeFileSync(path.join(rootfs, 'bin/busybox'), '#!/bin/true\n', { mode: 0o755 });
  fs.symlinkSync('busybox', path.join(rootfs, 'bin/sh')); // relative link
  fs.symlinkSync('/bin/busybox', path.join(rootfs, 'usr/bin/env')); // absolute link: relative to rootfs
  fs.symlinkSync('../../../../../../bin/busybox', path.join(rootfs, 'usr/bin/up')); // escaping link stays inside
  fs.writeFileSync(path.join(rootfs, 'etc/passwd'), 'root:x:0:0::/:/bin/sh\n', { mode: 0o644 });
  fs.symlinkSync('/etc/passwd', path.join(rootfs, 'usr/bin/notexec'));
  fs.writeFileSync(path.join(rootfs, 'opt/app/run'), '#!/bin/sh\n', { mode: 0o755 });
  fs.symlinkSync('/lib', path.join(rootfs, 'usr/lib')); // absolute directory link
  fs.symlinkSync('loop2', path.join(rootfs, 'bin/loop1'));
  fs.symlinkSync('loop1', path.join(rootfs, 'bin/loop2'));
  // A host file the escaping link would reach if resolved on the host.
  fs.symlinkSync('/usr/bin/true', path.join(rootfs, 'bin/hosttrue'));
  return rootfs;
}

test('resolveInRoot confines symlinks to the rootfs', () => {
  const rootfs = makeRootfs();
  assert.is(resolveInRoot(rootfs, '/bin/sh'), path.join(rootfs, 'bin/busybox'));
  assert.is(resolveInRoot(rootfs, '/usr/bin/env'), path.join(rootfs, 'bin/busybox'));
  assert.is(resolveInRoot(rootfs, '/usr/bin/up'), path.join(rootfs, 'bin/busybox'));
  assert.is(resolveInRoot(rootfs, '/../../../etc/passwd'), path.join(rootfs, 'etc/passwd'));
  assert.is(resolveInRoot(rootfs, '/usr/lib/x/y'), path.join(rootfs, 'lib/x/y'));
  assert.is(resolveInRoot(rootfs, '/'), rootfs);
  assert.throws(() => resolveInRoot(rootfs, '/bin/loop1'), (e: unknown) => e instanceof TsrunError && /symbolic links/.test(e.message));
});

// --- semantic checks -------------------------------------------------------------

function baseSpec(): Spec {
  return {
    ociVersion: '1.3.0',
    process: {
      user: { uid: 0, gid: 0 },
      args: ['sh'],
      env: ['PATH=/usr/bin:/bin', 'TERM=xterm'],
      cwd: '/',
      capabilities: { bounding: ['CAP_KILL'] },
      rlimits: [{ type: 'RLIMIT_NOFILE', soft: 1024, hard: 1024 }],
    },
    root: { path: 'rootfs' },
    hostname: 'h',
    mounts: [{ destination: '/proc', type: 'proc', source: 'proc' }],
    linux: { namespaces: [{ type: 'pid' }, { type: 'mount' }, { type: 'uts' }, { type: 'ipc' }, { type: 'network' }] },
  };
}

function semantic(mutate: (s: Spec) => void, rootfsOverride?: string) {
  const rootfs = rootfsOverride ?? makeRootfs();
  const s = baseSpec();
  mutate(s);
  return checkSemantics(s, path.dirname(rootfs), rootfs);
}

function hasError(r: { errors: string[] }, re: RegExp) {
  assert.ok(r.errors.some((e) => re.test(e)), `expected an error matching ${re}, got ${JSON.stringify(r.errors)}`);
}
function hasWarning(r: { warnings: string[] }, re: RegExp) {
  assert.ok(r.warnings.some((e) => re.test(e)), `expected a warning matching ${re}, got ${JSON.stringify(r.warnings)}`);
}

test('semantic: the base config passes', () => {
  const r = semantic(() => {});
  assert.equal(r, { errors: [], warnings: [] });
});

test('semantic: process', () => {
  assert.equal(semantic((s) => delete s.process).errors, [], 'process missing is fine for create');
  hasError(semantic((s) => (s.process!.args = [])), /^process\.args: must contain at least one/);
  hasError(semantic((s) => (s.process!.cwd = 'tmp')), /^process\.cwd: must be an absolute path/);
  // args[0] is looked up by the init, in the container after its mounts (runc): never refused here
  for (const arg0 of ['nope', '/etc/passwd', '/bin', './server', '/mnt/tool']) {
    assert.equal(semantic((s) => (s.process!.args = [arg0])), { errors: [], warnings: [] }, arg0);
  }
  hasError(semantic((s) => s.process!.env!.push('NOEQUALS')), /^process\.env\[2\]: "NOEQUALS" is not of the form KEY=VALUE/);
  hasError(semantic((s) => s.process!.args!.push('x'.repeat(200 * 1024))), /^process\.args\[1\]: .*MAX_ARG_STRLEN/);
  hasError(
    semantic((s) => {
      for (let i = 0; i < 20; i++) s.process!.env!.push(`V${i}=${'y'.repeat(120 * 1024)}`);
    }),
    /^process: args and env take \d+ bytes, more than execve allows/,
  );
});

test('semantic: rlimits', () => {
  hasError(semantic((s) => s.process!.rlimits!.push({ type: 'RLIMIT_BOGUS', soft: 1, hard: 1 })), /^process\.rlimits\[1\]: unknown rlimit type "RLIMIT_BOGUS"/);
  hasError(semantic((s) => s.process!.rlimits!.push({ type: 'RLIMIT_NOFILE', soft: 1, hard: 1 })), /^process\.rlimits\[1\]: duplicate rlimit type "RLIMIT_NOFILE"/);
  hasError(semantic((s) => (s.process!.rlimits![0].soft = 4096)), /^process\.rlimits\[0\]: soft limit 4096 is greater than hard limit 1024/);
});

test('semantic: root', () => {
  const r = semantic(() => {}, '/nonexistent/tsrun-rootfs');
  hasError(r, /^root\.path: \/nonexistent\/tsrun-rootfs does not exist/);
  const file = path.join(tmp(), 'file');
  fs.writeFileSync(file, '');
  hasError(semantic(() => {}, file), /^root\.path: .* is not a directory/);
  hasError(semantic((s) => delete s.root), /^root: missing/);
});

test('semantic: namespaces and mappings', () => {
  const ns = (s: Spec) => s.linux!.namespaces!;
  hasError(semantic((s) => ns(s).push({ type: 'pid' })), /^linux\.namespaces\[5\]: duplicate namespace "pid"/);
  hasError(
    semantic((s) => ns(s).push({ type: 'bogus' } as unknown as NonNullable<NonNullable<Spec['linux']>['namespaces']>[number])),
    /^linux\.namespaces\[5\]: unknown namespace type "bogus"/,
  );
  hasError(semantic((s) => ns(s).push({ type: 'cgroup', path: '/nonexistent/ns/cgroup' })), /^linux\.namespaces\[5\]\.path: \/nonexistent\/ns\/cgroup does not exist/);
  assert.equal(semantic((s) => ns(s).push({ type: 'cgroup', path: '/proc/self/ns/cgroup' })).errors, []);
  // No mount namespace is allowed (runc): a warning that mounts and devices are not applied.
  const noMnt = semantic((s) => (s.linux!.namespaces = ns(s).filter((n) => n.type !== 'mount')));
  assert.equal(noMnt.errors, []);
  hasWarning(noMnt, /^linux\.namespaces: no mount namespace, so mounts, devices and root\.readonly are not applied/);
  const user = semantic((s) => ns(s).push({ type: 'user' }));
  hasError(user, /^linux\.uidMappings: a new user namespace needs uid mappings/);
  hasError(user, /^linux\.gidMappings: a new user namespace needs gid mappings/);
  assert.equal(
    semantic((s) => {
      ns(s).push({ type: 'user' });
      s.linux!.uidMappings = [{ containerID: 0, hostID: 1000, size: 1 }];
      s.linux!.gidMappings = [{ containerID: 0, hostID: 1000, size: 1 }];
    }).errors,
    [],
  );
  hasError(
    semantic((s) => (s.linux!.uidMappings = [{ containerID: 0, hostID: 1000, size: 1 }])),
    /^linux\.uidMappings: user namespace mappings specified, but there is no user namespace/,
  );
  const noUts = (s: Spec) => (s.linux!.namespaces = ns(s).filter((n) => n.type !== 'uts'));
  hasError(semantic(noUts), /^hostname: unable to set hostname without a private UTS namespace/);
  hasError(
    semantic((s) => {
      noUts(s);
      delete s.hostname;
      s.domainname = 'd';
    }),
    /^domainname: unable to set domainname without a private UTS namespace/,
  );
  hasError(semantic((s) => (s.linux!.timeOffsets = { monotonic: { secs: 1 } })), /^linux\.timeOffsets: .*no time namespace/);
});

test('semantic: sysctl', () => {
  const only = (keep: string[]) => (s: Spec) => (s.linux!.namespaces = s.linux!.namespaces!.filter((n) => keep.includes(n.type)));
  const with_ = (sysctl: Record<string, string>, keep?: string[]) =>
    semantic((s) => {
      s.linux!.sysctl = sysctl;
      if (keep) only(keep)(s);
      if (keep && !keep.includes('uts')) delete s.hostname;
    });
  assert.equal(with_({ 'kernel.shmmax': '1', 'fs.mqueue.msg_max': '10', 'net.ipv4.ip_forward': '1', 'kernel.domainname': 'x' }).errors, []);
  assert.equal(with_({ 'net/ipv4/conf/eth0.100/rp_filter': '1' }).errors, [], 'slash-separated keys');
  hasError(with_({ 'kernel.msgmax': '1' }, ['mount', 'uts']), /^linux\.sysctl\["kernel\.msgmax"\]: .*host's IPC namespace/);
  hasError(with_({ 'fs.mqueue.msg_max': '1' }, ['mount']), /^linux\.sysctl\["fs\.mqueue\.msg_max"\]: /);
  hasError(with_({ 'net.ipv4.ip_forward': '1' }, ['mount']), /^linux\.sysctl\["net\.ipv4\.ip_forward"\]: .*host's network namespace/);
  hasError(
    semantic((s) => {
      s.linux!.sysctl = { 'net.ipv4.ip_forward': '1' };
      s.linux!.namespaces = s.linux!.namespaces!.map((n) => (n.type === 'network' ? { type: 'network', path: '/proc/self/ns/net' } : n));
    }),
    /host's network namespace/,
  );
  hasError(with_({ 'kernel.hostname': 'x' }), /^linux\.sysctl\["kernel\.hostname"\]: .*conflicts with the "hostname" field/);
  hasError(with_({ 'kernel.domainname': 'x' }, ['mount']), /not in a separate kernel namespace/);
  hasError(with_({ 'vm.swappiness': '1' }), /^linux\.sysctl\["vm\.swappiness"\]: sysctl "vm\.swappiness" is not in a separate kernel namespace/);
});

test('semantic: mounts, hooks, capabilities', () => {
  hasError(semantic((s) => s.mounts!.push({ destination: '/', type: 'tmpfs', source: 'tmpfs' })), /^mounts\[1\]\.destination: mounting over "\/"/);
  hasError(semantic((s) => s.mounts!.push({ destination: '/./', type: 'tmpfs', source: 'tmpfs' })), /^mounts\[1\]\.destination: mounting over "\/"/);
  const rel = semantic((s) => s.mounts!.push({ destination: 'data', type: 'tmpfs', source: 'tmpfs' }));
  assert.equal(rel.errors, []);
  hasWarning(rel, /^mounts\[1\]\.destination: relative path "data" is deprecated.*\/data/);
  hasError(semantic((s) => (s.hooks = { createRuntime: [{ path: 'hook' }] })), /^hooks\.createRuntime\[0\]\.path: must be an absolute path/);
  const caps = semantic((s) => (s.process!.capabilities = { bounding: ['CAP_KILL', 'CAP_BOGUS'], effective: ['CAP_CHECKPOINT_RESTORE'] }));
  assert.equal(caps.errors, []);
  assert.equal(caps.warnings, ['process.capabilities.bounding[1]: unknown capability "CAP_BOGUS", ignored']);
});

// --- loadBundleConfig -------------------------------------------------------------

test('loadBundleConfig', () => {
  const rootfs = makeRootfs();
  const bundle = path.dirname(rootfs);
  const write = (v: unknown) => fs.writeFileSync(path.join(bundle, 'config.json'), typeof v === 'string' ? v : JSON.stringify(v));

  assert.throws(() => loadBundleConfig(path.join(bundle, 'missing')), /bundle .*missing does not exist/);
  assert.throws(() => loadBundleConfig(bundle), /has no config\.json/);
  write('{\n  "ociVersion": "1.0.0",\n}');
  assert.throws(() => loadBundleConfig(bundle), /^invalid config\.json: .* at line 3 column 1/);
  write('{"ociVersion": tru}');
  assert.throws(() => loadBundleConfig(bundle), /^invalid config\.json: Unexpected token .* at line 1 column/);

  write({ ociVersion: '1.0.0', process: { user: { uid: 0, gid: 0 }, args: 'sh', cwd: 1 } });
  try {
    loadBundleConfig(bundle);
    assert.unreachable('schema errors must throw');
  } catch (e) {
    assert.instance(e, TsrunError);
    assert.instance(e, ConfigError);
    const ce = e as ConfigError;
    assert.ok(ce.schemaErrors.length >= 2);
    assert.match(ce.message, /^invalid config\.json: \/process\/\w+: must be \w+ .*\(and \d+ more: `tsrun validate --bundle .*` lists them all\)$/);
    assert.ok(ce.errors.includes('/process/cwd: must be string (got 1)'));
  }

  const spec = baseSpec();
  spec.process!.rlimits!.push({ type: 'RLIMIT_NOFILE', soft: 1, hard: 1 });
  write(spec);
  assert.throws(() => loadBundleConfig(bundle), /^invalid config\.json: process\.rlimits\[1\]: duplicate rlimit type "RLIMIT_NOFILE" \(first at process\.rlimits\[0\]\)$/);

  const good = baseSpec();
  good.mounts!.push({ destination: 'data', type: 'tmpfs', source: 'tmpfs' });
  write(good);
  const link = path.join(tmp(), 'bundle-link');
  fs.symlinkSync(bundle, link);
  const loaded = loadBundleConfig(link);
  assert.is(loaded.bundle, fs.realpathSync(bundle));
  assert.is(loaded.rootfs, fs.realpathSync(rootfs));
  assert.is(loaded.config.process!.args![0], 'sh');
  assert.is(loaded.warnings.length, 1);
});

test.run();
