/**
 * args[0] and HOME are resolved inside the container, as runc's init does:
 * after the mounts, against process.cwd, with PATH from process.env, as the
 * process's user; HOME from the container's /etc/passwd. Failures carry runc's
 * words, on which Docker decides 127/126. Each case runs on runc first (when
 * installed: it proves the expectation) and then on tsrun.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Sandbox, type Result } from '../helpers/tsrun';

const sb = new Sandbox('tsrun-lookpath-');
const RUNC = ['/usr/sbin/runc', '/usr/bin/runc', '/usr/local/sbin/runc', '/usr/local/bin/runc'].find((p) => fs.existsSync(p));
const runcRoot = path.join(sb.dir, 'runc-state');
const runcIds: string[] = [];
if (!RUNC) console.log('lookpath: runc is not installed: the tsrun side runs alone, against the fixed expectations');

test.after(() => {
  for (const id of runcIds) if (RUNC) sb.exec([RUNC, '--root', runcRoot, 'delete', '--force', id]);
  sb.cleanup();
});

type Rt = 'runc' | 'tsrun';
const runtimes = (): Rt[] => (RUNC ? ['runc', 'tsrun'] : ['tsrun']);

/** `<rt> --root … [--log FILE --log-format json] args`. */
function rt(which: Rt, args: string[], log?: string): Result {
  const globals = log ? ['--log', log, '--log-format', 'json'] : [];
  if (which === 'tsrun') return sb.tsrun(args, { globals });
  return sb.exec([RUNC!, '--root', runcRoot, ...globals, ...args]);
}

function newId(which: Rt, name: string): string {
  const id = sb.id(name);
  if (which === 'runc') runcIds.push(id);
  return id;
}

/** The last error's msg in a JSON log (what containerd's shim reads). */
function lastError(log: string): string {
  const lines = fs.readFileSync(log, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { level: string; msg: string });
  const errors = lines.filter((l) => l.level === 'error');
  assert.ok(errors.length > 0, `no error in ${log}`);
  return errors[errors.length - 1].msg;
}

/** A host directory holding an executable script (interpreted by the rootfs' /bin/sh). */
function hostTools(): string {
  const dir = fs.mkdtempSync(path.join(sb.dir, 'tools-'));
  fs.writeFileSync(path.join(dir, 'tool'), '#!/bin/sh\necho "tool $* home=$HOME"\n', { mode: 0o755 });
  return dir;
}

/** Runs the bundle in the foreground on each runtime and returns stdout (status 0 asserted). */
function runEach(bundle: string, name: string): Record<Rt, string> {
  const out = {} as Record<Rt, string>;
  for (const which of runtimes()) {
    const r = rt(which, ['run', '--bundle', bundle, newId(which, name)]);
    assert.is(r.status, 0, `${which}: ${r.stderr}`);
    out[which] = r.stdout;
  }
  return out;
}

test('a command that lives on a bind mount: by PATH, by absolute path, and a single bound file (docker run --init)', () => {
  const tools = hostTools();
  const b = sb.bundle({
    args: ['tool', 'a'],
    edit: (c) => {
      c.process.env = ['PATH=/opt/tools:/bin'];
      c.mounts.push({ destination: '/opt/tools', type: 'bind', source: tools, options: ['bind', 'ro'] });
      c.mounts.push({ destination: '/sbin/docker-init', type: 'bind', source: path.join(tools, 'tool'), options: ['bind', 'ro'] });
    },
  });
  for (const [args, want] of [
    [['tool', 'a'], 'tool a home=/root\n'],
    [['/opt/tools/tool', 'b'], 'tool b home=/root\n'],
    [['/sbin/docker-init', '--', 'c'], 'tool -- c home=/root\n'],
  ] as const) {
    const cfg = JSON.parse(fs.readFileSync(path.join(b, 'config.json'), 'utf8'));
    cfg.process.args = args;
    fs.writeFileSync(path.join(b, 'config.json'), JSON.stringify(cfg));
    const out = runEach(b, 'onmount');
    for (const [which, stdout] of Object.entries(out)) assert.is(stdout, want, `${which} ${args[0]}`);
  }
});

test('a relative command runs from process.cwd (WORKDIR /app + CMD ["./server"]), in the rootfs and on a mount', () => {
  const inRoot = sb.bundle({ args: ['./server', 'x'], edit: (c) => (c.process.cwd = '/app') });
  fs.mkdirSync(path.join(inRoot, 'rootfs/app'));
  fs.writeFileSync(path.join(inRoot, 'rootfs/app/server'), '#!/bin/sh\necho "server $* in $(pwd)"\n', { mode: 0o755 });
  for (const stdout of Object.values(runEach(inRoot, 'relroot'))) assert.is(stdout, 'server x in /app\n');

  const tools = hostTools();
  const onMount = sb.bundle({
    args: ['./tool', 'y'],
    edit: (c) => {
      c.process.cwd = '/work';
      c.mounts.push({ destination: '/work', type: 'bind', source: tools, options: ['bind'] });
    },
  });
  for (const stdout of Object.values(runEach(onMount, 'relmount'))) assert.is(stdout, 'tool y home=/root\n');
});

test('HOME from the container\'s /etc/passwd for the process uid, "/" for an unlisted uid, never over process.env', () => {
  const b = sb.bundle({ args: ['sh', '-c', 'echo "$HOME"; env | grep -c "^HOME="'] });
  fs.appendFileSync(path.join(b, 'rootfs/etc/passwd'), 'u:x:1000:1000::/home/u:/bin/sh\n');
  // The container's passwd is read after the mounts: this uid is only in a file bound over it.
  const passwd = path.join(sb.dir, 'passwd-over');
  fs.writeFileSync(passwd, 'root:x:0:0:root:/root:/bin/sh\nsrv:x:4242:0::/srv/home:/bin/sh\n');
  const setCfg = (edit: (c: Record<string, any>) => void) => {
    const cfg = JSON.parse(fs.readFileSync(path.join(b, 'config.json'), 'utf8'));
    edit(cfg);
    fs.writeFileSync(path.join(b, 'config.json'), JSON.stringify(cfg));
  };
  for (const [name, uid, env, mounts, want] of [
    ['uid 0', 0, [], [], '/root'],
    ['listed uid', 1000, [], [], '/home/u'],
    ['unlisted uid', 1234, [], [], '/'],
    ['passwd on a mount', 4242, [], [{ destination: '/etc/passwd', type: 'bind', source: passwd, options: ['bind', 'ro'] }], '/srv/home'],
    ['HOME in process.env', 1000, ['HOME=/custom'], [], '/custom'],
  ] as const) {
    setCfg((c) => {
      c.process.user = { uid, gid: uid };
      c.process.env = ['PATH=/bin', ...env];
      c.mounts = c.mounts.filter((m: { destination: string }) => m.destination !== '/etc/passwd').concat(mounts);
    });
    for (const [which, stdout] of Object.entries(runEach(b, 'home'))) assert.is(stdout, `${want}\n1\n`, `${which}: ${name}`);
  }
});

test('exec: HOME from the container\'s passwd, and a command on a mount or relative to --cwd', () => {
  const tools = hostTools();
  const b = sb.bundle({
    args: ['sleep', '300'],
    edit: (c) => c.mounts.push({ destination: '/opt/tools', type: 'bind', source: tools, options: ['bind', 'ro'] }),
  });
  fs.appendFileSync(path.join(b, 'rootfs/etc/passwd'), 'u:x:1000:1000::/home/u:/bin/sh\n');
  for (const which of runtimes()) {
    const id = newId(which, 'exechome');
    const r = rt(which, ['run', '-d', '--bundle', b, id]);
    assert.is(r.status, 0, `${which}: ${r.stderr}`);
    const home = (user: string) => rt(which, ['exec', '-u', user, id, 'sh', '-c', 'echo $HOME']);
    assert.is(home('0').stdout, '/root\n', which);
    assert.is(home('1000').stdout, '/home/u\n', which);
    assert.is(home('1234').stdout, '/\n', which);
    assert.is(rt(which, ['exec', '--env', 'HOME=/x', id, 'sh', '-c', 'echo $HOME']).stdout, '/x\n', which);
    const onMount = rt(which, ['exec', '--env', 'PATH=/opt/tools:/bin', id, 'tool', 'm']);
    assert.is(onMount.stdout, 'tool m home=/root\n', `${which}: ${onMount.stderr}`);
    const rel = rt(which, ['exec', '--cwd', '/opt/tools', id, './tool', 'r']);
    assert.is(rel.stdout, 'tool r home=/root\n', `${which}: ${rel.stderr}`);
    assert.is(rt(which, ['delete', '--force', id]).status, 0);
  }
});

/** args[0] → runc's words; `secret` is a root-only 0700 executable run as uid 1000. */
const WORDS: [string[], number, { create: string; exec: string }][] = [
  [['/nope'], 0, { create: 'exec: "/nope": stat /nope: no such file or directory', exec: 'exec: "/nope": stat /nope: no such file or directory' }],
  [['nope'], 0, { create: 'exec: "nope": executable file not found in $PATH', exec: 'exec: "nope": executable file not found in $PATH' }],
  [['/etc'], 0, { create: 'exec: "/etc": permission denied', exec: 'exec: "/etc": permission denied' }],
  [['/etc/passwd'], 0, { create: 'exec: "/etc/passwd": permission denied', exec: 'exec: "/etc/passwd": permission denied' }],
  [['./nope'], 0, { create: 'exec: "./nope": stat ./nope: no such file or directory', exec: 'exec: "./nope": stat ./nope: no such file or directory' }],
  [['/opt/secret'], 1000, { create: 'exec /opt/secret: permission denied', exec: 'eaccess /opt/secret: permission denied' }],
];

function wordsBundle(): string {
  const b = sb.bundle({ args: ['sleep', '300'] });
  fs.mkdirSync(path.join(b, 'rootfs/opt'), { recursive: true });
  fs.copyFileSync(path.join(b, 'rootfs/bin/busybox'), path.join(b, 'rootfs/opt/secret'));
  fs.chmodSync(path.join(b, 'rootfs/opt/secret'), 0o700);
  return b;
}

test('create: runc\'s error words for a missing, non-executable or unreachable command; nothing is left behind', () => {
  const b = wordsBundle();
  for (const [args, uid, want] of WORDS) {
    const cfg = JSON.parse(fs.readFileSync(path.join(b, 'config.json'), 'utf8'));
    cfg.process.args = args;
    cfg.process.user = { uid, gid: uid };
    fs.writeFileSync(path.join(b, 'config.json'), JSON.stringify(cfg));
    for (const which of runtimes()) {
      const id = newId(which, 'words');
      const log = path.join(sb.dir, `${id}.log.json`);
      const r = rt(which, ['create', '--bundle', b, id], log);
      assert.is(r.status, 1, `${which} ${args[0]}: ${r.stdout}${r.stderr}`);
      const msg = lastError(log);
      assert.ok(msg.endsWith(`: ${want.create}`), `${which} ${args[0]}: ${JSON.stringify(msg)}`);
      if (which === 'tsrun') {
        // the one line on stderr says the same, and create left nothing (it failed, not start)
        const err = sb.tsrun(['create', '--bundle', b, id]);
        assert.is(err.status, 1);
        assert.is(err.stderr.trim().split('\n').length, 1, err.stderr);
        const text = /msg="((?:[^"\\]|\\.)*)"/.exec(err.stderr);
        assert.ok(text && (JSON.parse(`"${text[1]}"`) as string).endsWith(`: ${want.create}`), err.stderr);
        assert.is(sb.tsrun(['state', id]).status, 1, 'no state left');
        assert.not.ok(fs.existsSync(path.join(sb.root, id)), 'no state dir left');
      }
    }
  }
});

test('exec: runc\'s error words, exit status 255, the container unharmed', () => {
  const b = wordsBundle();
  for (const which of runtimes()) {
    const id = newId(which, 'execwords');
    assert.is(rt(which, ['run', '-d', '--bundle', b, id]).status, 0);
    for (const [args, uid, want] of WORDS) {
      const log = path.join(sb.dir, `${id}-${args[0].replace(/\W/g, '_')}.log.json`);
      const r = rt(which, ['exec', '-u', String(uid), id, ...args], log);
      assert.is(r.status, 255, `${which} ${args[0]}: ${r.stderr}`);
      assert.is(lastError(log), `exec failed: unable to start container process: ${want.exec}`, `${which} ${args[0]}`);
    }
    assert.is(rt(which, ['exec', id, 'true']).status, 0, `${which}: still usable`);
    assert.is(rt(which, ['delete', '--force', id]).status, 0);
  }
});

test.run();
