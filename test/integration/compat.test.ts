/**
 * What real callers (Docker, podman, CRI, runc's own suite) send and rely on,
 * on the paths where tsrun used to refuse or ignore it (issue 12): kill ID 0,
 * capabilities the host cannot grant, linux.mountLabel without SELinux,
 * joining a cgroup that already holds processes, exec -p without user, and
 * exec --cgroup with runc's semantics.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { CAPABILITIES } from '../../src/plan/capabilities';
import { killAndRemoveCgroup } from '../helpers/cgroups';
import { Sandbox } from '../helpers/tsrun';

const sb = new Sandbox('tsrun-compat-');
const cgroupDirs = new Set<string>();
test.after(() => {
  sb.cleanup();
  for (const d of cgroupDirs) killAndRemoveCgroup(d);
});

function cgroupPaths(id: string): Record<string, string> {
  const st = JSON.parse(fs.readFileSync(path.join(sb.root, id, 'state.json'), 'utf8'));
  const paths = (st.cgroup?.paths ?? {}) as Record<string, string>;
  for (const d of Object.values(paths)) cgroupDirs.add(d);
  return paths;
}

function capMask(status: string, field: string): bigint {
  const m = new RegExp(`^${field}:\\s*([0-9a-f]+)$`, 'm').exec(status);
  return m ? BigInt(`0x${m[1]}`) : 0n;
}

const lastCap = Number(fs.readFileSync('/proc/sys/kernel/cap_last_cap', 'utf8'));

test('kill ID 0 is the liveness probe: 0 while running, runc\'s "not running" once stopped', () => {
  const id = sb.id('kill0');
  assert.is(sb.tsrun(['run', '-d', '--bundle', sb.bundle({ args: ['sleep', '300'] }), id]).status, 0);
  const r = sb.tsrun(['kill', id, '0']);
  assert.is(r.status, 0, r.stderr);
  assert.is(sb.state(id).status, 'running', 'signal 0 delivers nothing');
  assert.is(sb.tsrun(['kill', id, 'KILL']).status, 0);
  sb.waitStatus(id, 'stopped');
  const s = sb.tsrun(['kill', id, '0']);
  assert.is.not(s.status, 0);
  assert.match(s.stderr, /container not running/);
});

test('a capability missing from the host\'s bounding set is warned about and dropped; the container runs with the rest', () => {
  const bnd = capMask(fs.readFileSync('/proc/self/status', 'utf8'), 'CapBnd');
  const missing = CAPABILITIES.slice(0, lastCap + 1).find((_, i) => (bnd & (1n << BigInt(i))) === 0n);
  if (!missing) {
    console.log('  skipped: this host\'s bounding set has every capability the kernel knows (the unknown-name case below still runs)');
    return;
  }
  const b = sb.bundle({
    args: ['grep', '^Cap', '/proc/self/status'],
    edit: (c) => {
      for (const set of ['bounding', 'effective', 'permitted']) c.process.capabilities[set] = ['CAP_CHOWN', missing];
    },
  });
  const r = sb.tsrun(['run', '--bundle', b, sb.id()]);
  assert.is(r.status, 0, r.stderr);
  assert.match(r.stderr, new RegExp(`process\\.capabilities\\.bounding: ${missing} cannot be granted on this host`));
  const st = r.stdout;
  assert.is(capMask(st, 'CapEff'), 1n, 'CAP_CHOWN only');
  assert.is(capMask(st, 'CapBnd'), 1n);
  // exec --cap with the same capability: the same warning, the exec runs.
  const id = sb.id();
  assert.is(sb.tsrun(['run', '-d', '--bundle', sb.bundle({ args: ['sleep', '300'] }), id]).status, 0);
  const e = sb.tsrun(['exec', '--cap', missing, id, 'true']);
  assert.is(e.status, 0, e.stderr);
  assert.match(e.stderr, new RegExp(`${missing} cannot be granted on this host`));
});

test('an unknown capability name is warned about and ignored (runtime-spec 1.3.0: SHOULD NOT fail)', () => {
  const b = sb.bundle({
    args: ['grep', '^CapEff', '/proc/self/status'],
    edit: (c) => {
      for (const set of ['bounding', 'effective', 'permitted']) c.process.capabilities[set] = ['CAP_KILL', 'CAP_NO_SUCH_THING'];
    },
  });
  const r = sb.tsrun(['run', '--bundle', b, sb.id()]);
  assert.is(r.status, 0, r.stderr);
  assert.match(r.stderr, /unknown capability \\?"CAP_NO_SUCH_THING\\?", ignored/);
  assert.is(capMask(r.stdout, 'CapEff'), 1n << 5n);
});

test('linux.mountLabel on a host without SELinux: warned about and dropped (crun), the container runs', () => {
  if (fs.existsSync('/sys/fs/selinux/enforce')) {
    console.log('  skipped: SELinux is enabled here, the label is applied');
    return;
  }
  const b = sb.bundle({
    args: ['true'],
    edit: (c) => {
      c.linux.mountLabel = 'system_u:object_r:container_file_t:s0:c1,c2';
      c.mounts.push({ destination: '/tmp', type: 'tmpfs', source: 'tmpfs', options: ['nosuid'] });
    },
  });
  const r = sb.tsrun(['run', '--bundle', b, sb.id()]);
  assert.is(r.status, 0, r.stderr);
  assert.match(r.stderr, /linux\.mountLabel: SELinux is not enabled on this host/);
});

test('joining a cgroup that already holds processes: runc\'s warning, and the container runs', () => {
  const first = sb.id('cgfirst');
  const cgPath = `/tsrun-compat-${process.pid}`;
  const mk = () => sb.bundle({ args: ['sleep', '300'], edit: (c) => (c.linux.cgroupsPath = cgPath) });
  const a = sb.tsrun(['run', '-d', '--bundle', mk(), first]);
  assert.is(a.status, 0, a.stderr);
  assert.not.match(a.stderr, /cgroup is not empty/);
  cgroupPaths(first);
  const second = sb.id('cgsecond');
  try {
    const r = sb.tsrun(['run', '-d', '--bundle', mk(), second]);
    assert.is(r.status, 0, r.stderr);
    assert.match(r.stderr, /container's cgroup is not empty: 1 process\(es\) found/);
  } finally {
    sb.tsrun(['delete', '--force', second]);
    sb.tsrun(['delete', '--force', first]);
  }
});

let execId = '';
function execContainer(): string {
  if (execId) return execId;
  execId = sb.id('exec');
  const r = sb.tsrun(['run', '-d', '--bundle', sb.bundle({ args: ['sleep', '300'] }), execId]);
  if (r.status !== 0) throw new Error(`run -d: ${r.stderr}`);
  return execId;
}

test('exec -p with a process that has no user runs as 0:0 (runc)', () => {
  const id = execContainer();
  const p = path.join(sb.dir, 'nouser.json');
  // No user (the point); PATH given, as runc searches only the process's own PATH.
  fs.writeFileSync(p, JSON.stringify({ args: ['id'], cwd: '/', env: ['PATH=/usr/sbin:/usr/bin:/sbin:/bin'] }));
  const r = sb.tsrun(['exec', '-p', p, id]);
  assert.is(r.status, 0, r.stderr);
  assert.match(r.stdout, /^uid=0\(root\) gid=0\(root\)/);
});

test('exec --cgroup: runc\'s argument errors, "is not a sub cgroup path", unknown controllers', () => {
  const id = execContainer();
  const cases: [string[], RegExp][] = [
    [['--cgroup', '..'], /exec failed: unable to create new parent process: \.\. is not a sub cgroup path/],
    [['--cgroup', '../../etc'], /is not a sub cgroup path/],
    [['--cgroup', 'whaaat:/'], /unknown controller whaaat/],
    [['--cgroup', ':x'], /invalid --cgroup argument: :x \(empty <controller> prefix\)/],
    [['--cgroup', 'a', '--cgroup', 'b'], /invalid --cgroup argument\(s\): multiple paths specified/],
    [['--cgroup', 'memory:a', '--cgroup', 'memory:b'], /controller memory specified multiple times/],
    [['--cgroup', 'nonexistent'], /nonexistent/],
  ];
  for (const [flags, want] of cases) {
    const r = sb.tsrun(['exec', ...flags, id, 'true']);
    assert.is(r.status, 255, `${flags.join(' ')}: ${r.stdout}${r.stderr}`);
    assert.match(r.stderr, want, flags.join(' '));
  }
});

test('exec --cgroup sub and controller:sub: the process lands in that sub-cgroup', () => {
  const id = execContainer();
  const paths = cgroupPaths(id);
  if (Object.keys(paths).length === 0) {
    console.log('  skipped: the container has no cgroup');
    return;
  }
  const made: string[] = [];
  try {
    for (const d of new Set(Object.values(paths))) {
      fs.mkdirSync(path.join(d, 'sub'));
      made.push(path.join(d, 'sub'));
      // A v1 cpuset child starts with no cpus/mems; give it the parent's so a task may join.
      for (const f of ['cpuset.cpus', 'cpuset.mems']) {
        if (fs.existsSync(path.join(d, f))) fs.writeFileSync(path.join(d, 'sub', f), fs.readFileSync(path.join(d, f), 'utf8').trim() || '\n');
      }
    }
    const own = (out: string) => out.trim().split('\n').map((l) => l.split(':').slice(1).join(':'));
    const base = own(sb.tsrun(['exec', id, 'cat', '/proc/self/cgroup']).stdout);
    const r = sb.tsrun(['exec', '--cgroup', 'sub', id, 'cat', '/proc/self/cgroup']);
    assert.is(r.status, 0, r.stderr);
    const lines = own(r.stdout);
    // Every hierarchy the container has a cgroup in moves to its "sub" (others, unmanaged, stay).
    const leaf = path.basename(Object.values(paths)[0]);
    let movedAll = 0;
    lines.forEach((l, i) => {
      if (!base[i].endsWith(`/${leaf}`)) return;
      assert.is(l, `${base[i]}/sub`);
      movedAll++;
    });
    assert.ok(movedAll > 0, r.stdout);
    // Per controller: only that hierarchy moves (v1); on a pure cgroup2 host there is no "memory" key.
    const v1 = Object.keys(paths).find((k) => k === 'memory' || k === 'pids');
    if (v1) {
      const m = sb.tsrun(['exec', '--cgroup', `${v1}:sub`, id, 'cat', '/proc/self/cgroup']);
      assert.is(m.status, 0, m.stderr);
      const moved = m.stdout.trim().split('\n').filter((l) => l.endsWith('/sub'));
      assert.is(moved.length, 1, m.stdout);
      assert.match(moved[0], new RegExp(`:${v1}:`));
    }
  } finally {
    for (const d of made.reverse()) killAndRemoveCgroup(d);
  }
});

test('no mount namespace: runs in the caller\'s mount namespace, chrooted into the rootfs, and mounts nothing there', () => {
  const mountsBefore = fs.readFileSync('/proc/self/mountinfo', 'utf8');
  const b = sb.bundle({
    args: ['sleep', '300'],
    edit: (c) => {
      c.linux.namespaces = c.linux.namespaces.filter((n: { type: string }) => n.type !== 'mount');
      delete c.linux.maskedPaths;
      delete c.linux.readonlyPaths;
    },
  });
  fs.writeFileSync(path.join(b, 'rootfs/marker-in-rootfs'), 'yes\n');
  const id = sb.id('nomnt');
  const r = sb.tsrun(['run', '-d', '--bundle', b, id]);
  assert.is(r.status, 0, r.stderr);
  assert.match(r.stderr, /no mount namespace, so mounts, devices and root\.readonly are not applied/);
  try {
    const pid = sb.state(id).pid;
    assert.is(fs.readlinkSync(`/proc/${pid}/ns/mnt`), fs.readlinkSync('/proc/self/ns/mnt'), 'the caller\'s mount namespace');
    assert.is(fs.realpathSync(`/proc/${pid}/root`), fs.realpathSync(path.join(b, 'rootfs')), 'chrooted into the rootfs');
    const e = sb.tsrun(['exec', id, 'cat', '/marker-in-rootfs']);
    assert.is(e.status, 0, e.stderr);
    assert.is(e.stdout, 'yes\n', 'exec sees the same root');
    // Nothing was mounted into the caller's mount table (runc leaves its mounts there).
    const added = fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((l) => !mountsBefore.includes(l) && l.includes(b));
    assert.equal(added, []);
  } finally {
    sb.tsrun(['delete', '--force', id]);
  }
  // runc's rule and words: masked or read-only paths need a private mount namespace.
  const masked = sb.bundle({ edit: (c) => (c.linux.namespaces = c.linux.namespaces.filter((n: { type: string }) => n.type !== 'mount')) });
  const m = sb.tsrun(['run', '--bundle', masked, sb.id()]);
  assert.is(m.status, 1);
  assert.match(m.stderr, /unable to restrict sys entries without a private MNT namespace/);
});

test.run();
