/**
 * The escape probes of issue 11 item 7 (CVE-2019-16884, CVE-2025-52881,
 * CVE-2024-21626 classes) and the mount-side items of 8, on real containers:
 * the rootfs is hostile (symlinks anywhere), the config is trusted.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { TtyReceiver } from '../helpers/recvtty';
import { REPO, Sandbox, sleep } from '../helpers/tsrun';

const sb = new Sandbox('tsrun-procfs-');
const mounted: string[] = [];
test.after(() => {
  for (const m of mounted.reverse()) spawnSync('umount', ['-R', '-l', m]);
  sb.cleanup();
});

const rootfsOf = (b: string) => path.join(b, 'rootfs');
const hostMountsUnder = (dir: string) =>
  fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((l) => l.split(' ')[4]?.startsWith(dir));

/** A host directory the probes try to reach, with nothing mounted on it. */
function hostTarget(): string {
  const d = fs.mkdtempSync(path.join(sb.dir, 'host-'));
  fs.writeFileSync(path.join(d, 'marker'), 'host\n');
  return d;
}

for (const kind of ['proc', 'sysfs'] as const) {
  const dest = kind === 'proc' ? '/proc' : '/sys';
  test(`a symlinked ${dest} is refused as runc refuses it (${kind} only on an ordinary directory)`, () => {
    const host = hostTarget();
    for (const target of ['/tmp', host, `../../../../../..${host}`]) {
      const b = sb.bundle({ args: ['true'] });
      fs.rmSync(path.join(rootfsOf(b), dest), { recursive: true, force: true });
      fs.symlinkSync(target, path.join(rootfsOf(b), dest));
      const id = sb.id();
      const r = sb.tsrun(['create', '--bundle', b, id]);
      assert.is(r.status, 1, `${dest} -> ${target}: ${r.stderr}`);
      assert.match(r.stderr, new RegExp(`filesystem \\\\"${kind}\\\\" must be mounted on ordinary directory`));
      assert.is(sb.tsrun(['state', id]).status, 1, 'nothing left');
      assert.equal(fs.readdirSync(host), ['marker']);
      assert.equal(hostMountsUnder(host), []);
    }
  });
}

test('mount destinations through absolute, relative and chained symlinks stay inside the rootfs', () => {
  const host = hostTarget();
  const up = '../../../../../../../../..';
  const links: Record<string, [string, string][]> = {
    absolute: [['abs', `/${up}${host}`]],
    relative: [['rel', `${up}${host}`]],
    chained: [['chain', 'b1'], ['b1', '/b2'], ['b2', `../${up}${host}`]],
  };
  for (const [name, chain] of Object.entries(links)) {
    for (const present of [false, true]) {
      const first = chain[0][0];
      const b = sb.bundle({
        args: ['sh', '-c', `echo inside > /${first}/x/f && cat /${first}/x/f`],
        edit: (c) => {
          c.root.readonly = false;
          c.mounts.push({ destination: `/${first}/x`, type: 'tmpfs', source: 'tmpfs' });
        },
      });
      for (const [link, target] of chain) fs.symlinkSync(target, path.join(rootfsOf(b), link));
      // The same path inside the rootfs: a confined resolution lands there.
      if (present) fs.mkdirSync(path.join(rootfsOf(b), host), { recursive: true });
      const r = sb.tsrun(['run', '--bundle', b, sb.id()]);
      if (present) {
        assert.is(r.status, 0, `${name}: ${r.stderr}`);
        assert.is(r.stdout, 'inside\n');
        assert.ok(fs.existsSync(path.join(rootfsOf(b), host, 'x')), `${name}: the mount point was made inside the rootfs`);
      } else {
        // Refused (a dangling link into the rootfs) or confined: never the host.
        assert.ok(r.status === 0 || /resolve/.test(r.stderr), `${name}: ${r.stderr}`);
      }
      assert.equal(fs.readdirSync(host), ['marker'], `${name}: the host directory was touched`);
      assert.equal(hostMountsUnder(host), [], `${name}: a mount reached the host`);
    }
  }
});

test('a mount whose destination resolves onto procfs through a symlink is refused; /proc files only from runc\'s list', () => {
  const src = path.join(sb.dir, 'fake-core-pattern');
  fs.writeFileSync(src, '|/tmp/evil\n');
  const cases: [string, string | undefined, RegExp | undefined][] = [
    ['/pk/core_pattern', 'proc/sys/kernel', /the destination leads through a symlink onto procfs/],
    ['/pk/core_pattern', '/proc/sys/kernel', /the destination leads through a symlink onto procfs/],
    ['/proc/sys/kernel/core_pattern', undefined, /cannot be mounted because it is inside \/proc/],
    ['/proc/uptime', undefined, undefined],
  ];
  for (const [dest, link, refused] of cases) {
    const b = sb.bundle({
      args: ['cat', dest],
      edit: (c) => c.mounts.push({ destination: dest, type: 'bind', source: src, options: ['bind', 'ro'] }),
    });
    if (link) fs.symlinkSync(link, path.join(rootfsOf(b), 'pk'));
    const r = sb.tsrun(['run', '--bundle', b, sb.id()]);
    if (refused) {
      assert.is(r.status, 1, `${dest}: ${r.stdout}`);
      assert.match(r.stderr, refused);
    } else {
      assert.is(r.status, 0, `${dest}: ${r.stderr}`);
      assert.is(r.stdout, '|/tmp/evil\n', 'an lxcfs-style file mount works');
    }
  }
});

test('/dev/null symlinked to a procfs file: masks still use a real null device, and no write reaches the procfs file', () => {
  const before = fs.readFileSync('/proc/sys/kernel/core_pattern', 'utf8');
  try {
    const b = sb.bundle({
      args: ['sh', '-c', 'stat -c "%t:%T %F" /proc/kcore /proc/timer_list 2>/dev/null; echo done'],
      edit: (c) => {
        c.mounts = c.mounts.filter((m: any) => !m.destination.startsWith('/dev'));
      },
    });
    fs.mkdirSync(path.join(rootfsOf(b), 'dev'), { recursive: true });
    fs.symlinkSync('/proc/sys/kernel/core_pattern', path.join(rootfsOf(b), 'dev/null'));
    const r = sb.tsrun(['run', '--bundle', b, sb.id()]);
    assert.is(r.status, 0, r.stderr);
    const lines = r.stdout.trim().split('\n');
    assert.is(lines.pop(), 'done');
    for (const l of lines) assert.is(l, '1:3 character special file');
    assert.is(fs.readFileSync('/proc/sys/kernel/core_pattern', 'utf8'), before);
  } finally {
    fs.writeFileSync('/proc/sys/kernel/core_pattern', before);
  }
});

test('/dev/console symlinked to a procfs file: the pty is never bound over the procfs file', () => {
  const before = fs.readFileSync('/proc/sys/kernel/core_pattern', 'utf8');
  const rx = new TtyReceiver();
  try {
    const b = sb.bundle({
      args: ['sh', '-c', 'stat -c %t:%T /dev/console; cat /proc/sys/kernel/core_pattern'],
      terminal: true,
      edit: (c) => {
        c.mounts = c.mounts.filter((m: any) => m.destination !== '/dev');
      },
    });
    fs.mkdirSync(path.join(rootfsOf(b), 'dev/pts'), { recursive: true });
    fs.symlinkSync('/proc/sys/kernel/core_pattern', path.join(rootfsOf(b), 'dev/console'));
    const id = sb.id();
    const r = sb.tsrun(['create', '--bundle', b, '--console-socket', rx.path, id]);
    // Refused, as runc 1.2.8+ refuses it; never a pty over the kernel knob.
    assert.is(r.status, 1, 'create must refuse a symlinked /dev/console');
    assert.match(r.stderr, /\/dev\/console/);
    assert.is(sb.tsrun(['state', id]).status, 1, 'nothing left');
    assert.is(fs.readFileSync('/proc/sys/kernel/core_pattern', 'utf8'), before);
  } finally {
    rx.close();
    fs.writeFileSync('/proc/sys/kernel/core_pattern', before);
  }
});

test('process.cwd /proc/self/fd/N (CVE-2024-21626): never a host directory', () => {
  for (let fd = 3; fd <= 12; fd++) {
    const b = sb.bundle({ args: ['sh', '-c', 'pwd; ls -a .. | head -3'], edit: (c) => (c.process.cwd = `/proc/self/fd/${fd}`) });
    const r = sb.tsrun(['run', '--bundle', b, sb.id()]);
    if (r.status === 0) assert.not.match(r.stdout, /\(unreachable\)/, `fd ${fd}: ${r.stdout}`);
    else assert.match(r.stderr, /cwd/, `fd ${fd}: ${r.stderr}`);
  }
});

test('container ids with path tricks are refused with runc\'s wording, nothing is created', () => {
  const b = sb.bundle({ args: ['true'] });
  const list = () => (fs.existsSync(sb.root) ? fs.readdirSync(sb.root).sort() : []);
  const before = list();
  for (const id of ['../x', 'a/b', '.', '..', '/abs', 'x/..', '', 'a\nb', 'x'.repeat(300)]) {
    const r = sb.tsrun(['create', '--bundle', b, id]);
    assert.is(r.status, 1, JSON.stringify(id));
    assert.match(r.stderr, id === '' ? /requires exactly 1 argument/ : /invalid container ID format/, JSON.stringify(id));
  }
  assert.not.ok(fs.existsSync(path.join(sb.dir, 'x')));
  assert.not.ok(fs.existsSync(path.join(sb.root, 'a')));
  assert.equal(list(), before);
});

test('sysctl and oom_score_adj are written through the init\'s own procfs (no /proc in the container needed)', () => {
  const b = sb.bundle({
    args: ['sleep', '10'],
    edit: (c) => {
      c.mounts = c.mounts.filter((m: any) => m.type !== 'proc');
      c.linux.maskedPaths = [];
      c.linux.readonlyPaths = [];
      c.linux.sysctl = { 'kernel.msgmni': '4321' };
      c.process.oomScoreAdj = 345;
    },
  });
  const id = sb.id();
  const r = sb.tsrun(['create', '--bundle', b, id]);
  assert.is(r.status, 0, r.stderr);
  const pid = sb.state(id).pid;
  assert.is(fs.readFileSync(`/proc/${pid}/oom_score_adj`, 'utf8').trim(), '345');
  // An IPC namespace's sysctl, read from the host inside that namespace.
  const v = execFileSync('nsenter', ['-t', String(pid), '-i', 'cat', '/proc/sys/kernel/msgmni'], { encoding: 'utf8' }).trim();
  assert.is(v, '4321');
  sb.tsrun(['delete', '--force', id]);
});

test('--no-pivot: the host\'s procfs and sysfs mounts are detached from the container\'s mount namespace (runc msMoveRoot)', () => {
  const b = sb.bundle({ args: ['sleep', '10'] });
  const id = sb.id();
  const r = sb.tsrun(['create', '--no-pivot', '--bundle', b, id]);
  assert.is(r.status, 0, r.stderr);
  const pid = sb.state(id).pid;
  // Every mount of the namespace (listmount by namespace id), against those the container sees.
  const helper = path.join(REPO, 'test/helpers/nsmounts.py');
  const all = spawnSync('python3', [helper, String(pid)], { encoding: 'utf8' });
  if (all.error || all.status === 2) {
    console.log(`  skipped: needs python3 and listmount(2) (${all.error?.message ?? all.stderr.trim()})`);
    sb.tsrun(['delete', '--force', id]);
    return;
  }
  assert.is(all.status, 0, all.stderr);
  const magics = all.stdout.split('\n');
  const seen = fs.readFileSync(`/proc/${pid}/mountinfo`, 'utf8').split('\n');
  assert.is(magics.filter((m) => m === '0x9fa0').length, seen.filter((l) => / - proc /.test(l)).length, 'a procfs outside the container root');
  assert.is(magics.filter((m) => m === '0x62656572').length, seen.filter((l) => / - sysfs /.test(l)).length, 'a sysfs outside the container root');
  sb.tsrun(['delete', '--force', id]);
});

test('default rootfs propagation is rslave (runc): a host mount made after create reaches a bind-mounted directory', () => {
  const d = fs.mkdtempSync(path.join(sb.dir, 'shared-'));
  execFileSync('mount', ['-t', 'tmpfs', 'tsrun-shared', d]);
  mounted.push(d);
  execFileSync('mount', ['--make-shared', d]);
  fs.mkdirSync(path.join(d, 'sub'));
  const b = sb.bundle({
    args: ['sh', '-c', 'for i in $(seq 100); do [ -e /mnt/d/sub/f ] && { echo seen > /mnt/d/result; exit 0; }; sleep 0.05; done; echo not > /mnt/d/result'],
    edit: (c) => {
      delete c.linux.rootfsPropagation;
      c.mounts.push({ destination: '/mnt/d', type: 'bind', source: d, options: ['rbind'] });
    },
  });
  const id = sb.id();
  assert.is(sb.tsrun(['create', '--bundle', b, id]).status, 0);
  execFileSync('mount', ['-t', 'tmpfs', 'tsrun-sub', path.join(d, 'sub')]);
  fs.writeFileSync(path.join(d, 'sub/f'), 'x');
  assert.is(sb.tsrun(['start', id]).status, 0);
  sb.waitStatus(id, 'stopped');
  assert.is(fs.readFileSync(path.join(d, 'result'), 'utf8'), 'seen\n');
  sb.tsrun(['delete', id]);
  sleep(10);
});

test.run();
