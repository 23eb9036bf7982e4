/**
 * The rest of the process and linux fields in real containers, checked from
 * inside: time namespace offsets, personality, scheduler, I/O priority,
 * memory policy, network devices; and the clear errors for what this host
 * lacks (AppArmor, SELinux, resctrl), with nothing left behind.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import { skip } from '../helpers/host';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Sandbox } from '../helpers/tsrun';
import { apparmorEnabled, resctrlMount, selinuxEnabled } from '../../src/lifecycle/host-extras';

const sb = new Sandbox('tsrun-extras-');
const links: string[] = [];
test.after(() => {
  sb.cleanup();
  for (const l of links) {
    try {
      execFileSync('ip', ['link', 'del', l], { stdio: 'ignore' });
    } catch {
      /* gone with the namespace */
    }
  }
});

function run(script: string, edit: (c: Record<string, any>) => void) {
  const b = sb.bundle({ args: ['sh', '-c', script], edit });
  return sb.tsrun(['run', '--bundle', b, sb.id()]);
}

test('time offsets, personality, scheduler, ioPriority and memoryPolicy all apply to the process', () => {
  const hostUp = Number(fs.readFileSync('/proc/uptime', 'utf8').split(' ')[0]);
  const r = run('cat /proc/uptime; uname -m; cut -d" " -f19,40,41 /proc/self/stat; ionice; head -1 /proc/self/numa_maps', (c) => {
    c.linux.namespaces.push({ type: 'time' });
    c.linux.timeOffsets = { boottime: { secs: 1_000_000 }, monotonic: { secs: 500_000, nanosecs: 5 } };
    c.linux.personality = { domain: 'LINUX32' };
    c.process.scheduler = { policy: 'SCHED_IDLE' };
    c.process.ioPriority = { class: 'IOPRIO_CLASS_IDLE', priority: 0 };
    c.linux.memoryPolicy = { mode: 'MPOL_PREFERRED', nodes: '0' };
  });
  assert.is(r.status, 0, r.stderr);
  const [uptime, machine, stat, ionice, numa] = r.stdout.trim().split('\n');
  const up = Number(uptime.split(' ')[0]);
  assert.ok(up >= hostUp + 1_000_000 && up < hostUp + 1_000_100, `uptime ${up} vs host ${hostUp}`);
  if (process.arch === 'x64') assert.is(machine, 'i686');
  assert.is(stat, '0 0 5', 'nice 0, rt_priority 0, SCHED_IDLE (5)');
  assert.is(ionice.trim(), 'idle');
  if (numa) assert.match(numa, / prefer:0 /);
});

test('a realtime policy with its priority (as root)', () => {
  const r = run('cut -d" " -f40,41 /proc/self/stat', (c) => {
    c.process.scheduler = { policy: 'SCHED_RR', priority: 4 };
  });
  if (r.status !== 0 && /sched_setattr.*(Operation not permitted|Invalid argument)/.test(r.stderr)) return skip('a realtime policy', `RT throttled in this cgroup (cpu.rt_runtime_us 0): ${r.stderr.trim().split('\n').pop()}`);
  assert.is(r.status, 0, r.stderr);
  assert.is(r.stdout.trim(), '4 2');
});

test('the kernel refuses what the plan passes on: errors name the op', () => {
  const r = run('true', (c) => {
    c.linux.memoryPolicy = { mode: 'MPOL_BIND', nodes: '1000' };
  });
  assert.is(r.status, 1);
  assert.match(r.stderr, /set_mempolicy .*nodes '1000'/);
});

test('netDevices: moved, renamed with a %d template, address kept, up; a name clash is an error', () => {
  const host = `tsxe${process.pid % 100000}`;
  links.push(host, `${host}p`);
  execFileSync('ip', ['link', 'add', host, 'type', 'veth', 'peer', 'name', `${host}p`]);
  execFileSync('ip', ['addr', 'add', '10.214.0.9/16', 'dev', host]);
  const clash = run('true', (c) => {
    c.linux.netDevices = { [host]: { name: 'lo' } };
  });
  assert.is(clash.status, 1);
  assert.match(clash.stderr, /named \\?"lo\\?" already exists in the container's network namespace/);
  assert.ok(fs.existsSync(`/sys/class/net/${host}`), 'a refused device stays on the host');

  const r = run('ip -o addr show; ip -o link show', (c) => {
    c.linux.netDevices = { [host]: { name: 'ext%d' } };
  });
  assert.is(r.status, 0, r.stderr);
  assert.match(r.stdout, /ext0.*inet 10\.214\.0\.9\/16/);
  assert.match(r.stdout, /ext0[@:].*[<,]UP[,>]/);
  assert.not.ok(fs.existsSync(`/sys/class/net/${host}`), 'the veth died with the namespace');
});

test('unavailable LSMs and resctrl: clear errors, nothing left behind', () => {
  const cases: [boolean, (c: Record<string, any>) => void, RegExp][] = [
    [apparmorEnabled(), (c) => (c.process.apparmorProfile = 'tsrun-test'), /process\.apparmorProfile: profile \\?"tsrun-test\\?" requested, but AppArmor is not enabled on this host/],
    [selinuxEnabled(), (c) => (c.process.selinuxLabel = 'system_u:system_r:container_t:s0'), /process\.selinuxLabel: .*SELinux is not enabled/],
    [!!resctrlMount(), (c) => (c.linux.intelRdt = { l3CacheSchema: 'L3:0=ff' }), /linux\.intelRdt: Intel RDT needs a mounted resctrl filesystem/],
  ];
  for (const [available, edit, want] of cases) {
    if (available) continue;
    const b = sb.bundle({ args: ['true'], edit });
    const id = sb.id();
    const r = sb.tsrun(['create', '--bundle', b, id]);
    assert.is(r.status, 1);
    assert.match(r.stderr, want);
    assert.is(sb.tsrun(['state', id]).status, 1, 'no container left');
  }
});

test('execCPUAffinity: ignored for the init (spec), applied to an exec\'d process', () => {
  const online = fs.readFileSync('/sys/devices/system/cpu/online', 'utf8').trim();
  if (online === '0') return skip('execCPUAffinity', 'one CPU: nothing to pin');
  const b = sb.bundle({ args: ['sleep', '20'], edit: (c) => (c.process.execCPUAffinity = { initial: '0', final: '0' }) });
  const id = sb.id();
  assert.is(sb.tsrun(['run', '-d', '--bundle', b, id]).status, 0);
  const pid = sb.state(id).pid as number;
  const initCpus = /Cpus_allowed_list:\s*(\S+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))![1];
  assert.is.not(initCpus, '0', 'the init keeps its affinity');
  const cfg = JSON.parse(fs.readFileSync(`${b}/config.json`, 'utf8'));
  const proc = { ...cfg.process, args: ['sh', '-c', 'grep Cpus_allowed_list /proc/self/status'], execCPUAffinity: { initial: '1', final: '0' } };
  fs.writeFileSync(`${b}/proc.json`, JSON.stringify(proc));
  const r = sb.tsrun(['exec', '--process', `${b}/proc.json`, id]);
  assert.is(r.status, 0, r.stderr);
  assert.match(r.stdout, /Cpus_allowed_list:\s*0\n/);
  assert.is(sb.tsrun(['delete', '--force', id]).status, 0);
});

test('annotations are kept in the state', () => {
  const b = sb.bundle({ args: ['sleep', '5'], edit: (c) => (c.annotations = { 'org.example.a': '1', 'org.example.b': 'x y' }) });
  const id = sb.id();
  assert.is(sb.tsrun(['create', '--bundle', b, id]).status, 0);
  assert.equal(sb.state(id).annotations, { 'org.example.a': '1', 'org.example.b': 'x y' });
  assert.is(sb.tsrun(['delete', '--force', id]).status, 0);
});

test.run();
