/**
 * Container statistics in the shape `runc events` prints (its events
 * types: cpu, cpuset, memory, pids, blkio, hugetlb, intel_rdt,
 * network_interfaces). Fields Go would omit (omitempty, zero) are omitted.
 */
import * as fs from 'node:fs';
import { cgReadOpt, parseFlatKeyed, parseU64 } from './fsutil';
import type { BlkioEntry, CgroupRecord, MemoryEntry, Stats, U64 } from './types';

const MAX_U64 = BigInt('18446744073709551615');
const USER_HZ = 100;
const NS_PER_TICK = 1e9 / USER_HZ;

const nz = (v: U64 | undefined): U64 | undefined => (v === undefined || v === 0 || v === BigInt(0) ? undefined : v);
const num = (v: U64 | undefined): U64 => v ?? 0;

/** Drops undefined fields (Go's omitempty after nz()). */
function compact<T extends object>(o: T): T {
  for (const k of Object.keys(o) as (keyof T)[]) if (o[k] === undefined) delete o[k];
  return o;
}

function put<T extends object>(o: T, k: keyof T, v: unknown): void {
  if (v !== undefined) (o as Record<string, unknown>)[k as string] = v;
}

/** "0-2,4" → [0,1,2,4]. */
export function parseCpuList(s: string | undefined): number[] {
  const out: number[] = [];
  for (const part of (s ?? '').trim().split(',')) {
    if (!part) continue;
    const [a, b] = part.split('-').map(Number);
    for (let i = a; i <= (b ?? a); i++) out.push(i);
  }
  return out;
}

/** Host huge page sizes as cgroup file infixes ("2MB", "1GB"). */
export function hugePageSizes(): string[] {
  let names: string[] = [];
  try {
    names = fs.readdirSync('/sys/kernel/mm/hugepages');
  } catch {
    return [];
  }
  const out: string[] = [];
  for (const n of names) {
    const m = /^hugepages-(\d+)kB$/.exec(n);
    if (!m) continue;
    let kb = Number(m[1]);
    const units = ['KB', 'MB', 'GB', 'TB'];
    let u = 0;
    while (kb >= 1024 && kb % 1024 === 0 && u < units.length - 1) {
      kb /= 1024;
      u++;
    }
    out.push(`${kb}${units[u]}`);
  }
  return out;
}

function memEntry(dir: string, prefix: string): MemoryEntry {
  const e: MemoryEntry = { limit: num(parseU64(cgReadOpt(dir, `${prefix}.limit_in_bytes`))), failcnt: num(parseU64(cgReadOpt(dir, `${prefix}.failcnt`))) };
  const usage = nz(parseU64(cgReadOpt(dir, `${prefix}.usage_in_bytes`)));
  const max = nz(parseU64(cgReadOpt(dir, `${prefix}.max_usage_in_bytes`)));
  return { limit: e.limit, ...(usage !== undefined ? { usage } : {}), ...(max !== undefined ? { max } : {}), failcnt: e.failcnt };
}

function blkioEntries(text: string | undefined): BlkioEntry[] {
  const out: BlkioEntry[] = [];
  for (const line of (text ?? '').split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f.length !== 3) continue;
    const [maj, min] = f[0].split(':').map(Number);
    const e: BlkioEntry = {};
    put(e, 'major', maj || undefined);
    put(e, 'minor', min || undefined);
    put(e, 'op', f[1] || undefined);
    put(e, 'value', nz(parseU64(f[2])));
    out.push(e);
  }
  return out;
}

function v2Max(s: string | undefined): U64 {
  if (s === 'max') return MAX_U64;
  return num(parseU64(s));
}

function emptyStats(): Stats {
  return {
    cpu: { usage: { kernel: 0, user: 0 }, throttling: {} },
    cpuset: {},
    memory: { usage: { limit: 0, failcnt: 0 }, swap: { limit: 0, failcnt: 0 }, kernel: { limit: 0, failcnt: 0 }, kernelTCP: { limit: 0, failcnt: 0 } },
    pids: {},
    blkio: {},
    hugetlb: {},
    intel_rdt: {},
    network_interfaces: null,
  };
}

function v1Stats(p: Record<string, string>, s: Stats): void {
  const acct = p.cpuacct;
  if (acct) {
    const u: Stats['cpu']['usage'] = {} as Stats['cpu']['usage'];
    put(u, 'total', nz(parseU64(cgReadOpt(acct, 'cpuacct.usage'))));
    const percpu = (cgReadOpt(acct, 'cpuacct.usage_percpu') ?? '').split(/\s+/).filter(Boolean).map((x) => num(parseU64(x)));
    if (percpu.length) u.percpu = percpu;
    const all = (cgReadOpt(acct, 'cpuacct.usage_all') ?? '').split('\n').slice(1).map((l) => l.trim().split(/\s+/)).filter((f) => f.length === 3);
    if (all.length) {
      u.percpu_kernel = all.map((f) => num(parseU64(f[2])));
      u.percpu_user = all.map((f) => num(parseU64(f[1])));
    }
    const st = parseFlatKeyed(cgReadOpt(acct, 'cpuacct.stat'));
    u.kernel = Number(st.system ?? 0) * NS_PER_TICK;
    u.user = Number(st.user ?? 0) * NS_PER_TICK;
    s.cpu.usage = u;
  }
  if (p.cpu) {
    const st = parseFlatKeyed(cgReadOpt(p.cpu, 'cpu.stat'));
    put(s.cpu.throttling, 'periods', nz(st.nr_periods));
    put(s.cpu.throttling, 'throttledPeriods', nz(st.nr_throttled));
    put(s.cpu.throttling, 'throttledTime', nz(st.throttled_time));
  }
  if (p.cpuset) {
    const d = p.cpuset;
    const n = (f: string): number => Number(cgReadOpt(d, `cpuset.${f}`) ?? 0);
    const cs: Record<string, unknown> = {};
    const cpus = parseCpuList(cgReadOpt(d, 'cpuset.cpus'));
    if (cpus.length) cs.cpus = cpus;
    cs.cpu_exclusive = n('cpu_exclusive');
    const mems = parseCpuList(cgReadOpt(d, 'cpuset.mems'));
    if (mems.length) cs.mems = mems;
    for (const f of ['mem_hardwall', 'mem_exclusive', 'memory_migrate', 'memory_spread_page', 'memory_spread_slab', 'memory_pressure', 'sched_load_balance', 'sched_relax_domain_level']) cs[f] = n(f);
    s.cpuset = cs;
  }
  if (p.memory) {
    const d = p.memory;
    const raw = parseFlatKeyed(cgReadOpt(d, 'memory.stat'));
    put(s.memory, 'cache', nz(raw.cache));
    s.memory.usage = memEntry(d, 'memory');
    s.memory.swap = memEntry(d, 'memory.memsw');
    s.memory.kernel = memEntry(d, 'memory.kmem');
    s.memory.kernelTCP = memEntry(d, 'memory.kmem.tcp');
    if (Object.keys(raw).length) s.memory.raw = raw;
  }
  if (p.pids) {
    put(s.pids, 'current', nz(parseU64(cgReadOpt(p.pids, 'pids.current'))));
    put(s.pids, 'limit', nz(parseU64(cgReadOpt(p.pids, 'pids.max'))));
  }
  if (p.blkio) {
    const d = p.blkio;
    // CFQ's recursive files, else BFQ's, else the throttle ones (what runc falls back to).
    const pick = (name: string): string | undefined => cgReadOpt(d, `blkio.${name}_recursive`) || cgReadOpt(d, `blkio.bfq.${name}_recursive`) || cgReadOpt(d, `blkio.throttle.${name}_recursive`) || cgReadOpt(d, `blkio.throttle.${name}`);
    const sb = blkioEntries(pick('io_service_bytes'));
    const sv = blkioEntries(pick('io_serviced'));
    if (sb.length) s.blkio.ioServiceBytesRecursive = sb;
    if (sv.length) s.blkio.ioServicedRecursive = sv;
  }
  if (p.hugetlb) {
    for (const ps of hugePageSizes()) {
      const e = { usage: nz(parseU64(cgReadOpt(p.hugetlb, `hugetlb.${ps}.usage_in_bytes`))), max: nz(parseU64(cgReadOpt(p.hugetlb, `hugetlb.${ps}.max_usage_in_bytes`))), failcnt: num(parseU64(cgReadOpt(p.hugetlb, `hugetlb.${ps}.failcnt`))) };
      s.hugetlb[ps] = compact(e);
    }
  }
}

function v2Stats(d: string, s: Stats, only?: Set<string>): void {
  const want = (c: string): boolean => !only || only.has(c);
  if (want('cpu')) {
    const st = parseFlatKeyed(cgReadOpt(d, 'cpu.stat'));
    if (Object.keys(st).length) {
      s.cpu.usage = {} as Stats['cpu']['usage'];
      put(s.cpu.usage, 'total', nz(Number(st.usage_usec ?? 0) * 1000));
      s.cpu.usage.kernel = Number(st.system_usec ?? 0) * 1000;
      s.cpu.usage.user = Number(st.user_usec ?? 0) * 1000;
      put(s.cpu.throttling, 'periods', nz(st.nr_periods));
      put(s.cpu.throttling, 'throttledPeriods', nz(st.nr_throttled));
      put(s.cpu.throttling, 'throttledTime', nz(Number(st.throttled_usec ?? 0) * 1000));
    }
  }
  if (want('cpuset')) {
    const cpus = parseCpuList(cgReadOpt(d, 'cpuset.cpus.effective'));
    const mems = parseCpuList(cgReadOpt(d, 'cpuset.mems.effective'));
    if (cpus.length || mems.length) s.cpuset = { ...(cpus.length ? { cpus } : {}), ...(mems.length ? { mems } : {}) };
  }
  if (want('memory') && cgReadOpt(d, 'memory.current') !== undefined) {
    const raw = parseFlatKeyed(cgReadOpt(d, 'memory.stat'));
    const events = parseFlatKeyed(cgReadOpt(d, 'memory.events'));
    put(s.memory, 'cache', nz(raw.file));
    const usage = nz(parseU64(cgReadOpt(d, 'memory.current')));
    const peak = nz(parseU64(cgReadOpt(d, 'memory.peak')));
    s.memory.usage = { limit: v2Max(cgReadOpt(d, 'memory.max')), ...(usage !== undefined ? { usage } : {}), ...(peak !== undefined ? { max: peak } : {}), failcnt: num(events.max) };
    const swap = parseU64(cgReadOpt(d, 'memory.swap.current'));
    if (swap !== undefined) {
      const su = nz(parseU64(String(BigInt(swap) + BigInt(usage ?? 0))));
      s.memory.swap = { limit: v2Max(cgReadOpt(d, 'memory.swap.max')), ...(su !== undefined ? { usage: su } : {}), failcnt: 0 };
    }
    if (Object.keys(raw).length) s.memory.raw = raw;
  }
  if (want('pids')) {
    put(s.pids, 'current', nz(parseU64(cgReadOpt(d, 'pids.current'))));
    put(s.pids, 'limit', nz(parseU64(cgReadOpt(d, 'pids.max'))));
  }
  if (want('blkio')) {
    const sb: BlkioEntry[] = [];
    const sv: BlkioEntry[] = [];
    for (const line of (cgReadOpt(d, 'io.stat') ?? '').split('\n')) {
      const f = line.trim().split(/\s+/);
      if (f.length < 2) continue;
      const [maj, min] = f[0].split(':').map(Number);
      const kv = Object.fromEntries(f.slice(1).map((x) => x.split('=')));
      const ent = (op: string, v: string | undefined): BlkioEntry => compact({ major: maj || undefined, minor: min || undefined, op, value: nz(parseU64(v)) });
      sb.push(ent('Read', kv.rbytes), ent('Write', kv.wbytes));
      sv.push(ent('Read', kv.rios), ent('Write', kv.wios));
    }
    if (sb.length) s.blkio.ioServiceBytesRecursive = sb;
    if (sv.length) s.blkio.ioServicedRecursive = sv;
  }
  if (want('hugetlb')) {
    for (const ps of hugePageSizes()) {
      const cur = cgReadOpt(d, `hugetlb.${ps}.current`);
      if (cur === undefined) continue;
      const ev = parseFlatKeyed(cgReadOpt(d, `hugetlb.${ps}.events`));
      s.hugetlb[ps] = compact({ usage: nz(parseU64(cur)), max: nz(v2Max(cgReadOpt(d, `hugetlb.${ps}.max`))), failcnt: num(ev.max) });
    }
  }
}

export function collectStats(rec: CgroupRecord): Stats {
  const s = emptyStats();
  if (rec.mode === 'disabled') return s;
  if (rec.mode === 'v2') {
    if (rec.paths['']) v2Stats(rec.paths[''], s);
    return s;
  }
  v1Stats(rec.paths, s);
  // Hybrid: controllers that live on the cgroup2 hierarchy for this container.
  if (rec.paths[''] && rec.v2Fallback?.length) v2Stats(rec.paths[''], s, new Set(rec.v2Fallback));
  return s;
}
