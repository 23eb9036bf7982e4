/**
 * `tsrun explain` / `create --dry-run`: the prepared create (lifecycle/prepare.ts)
 * rendered for people (text) and tools (JSON). Generic over the plan: every
 * step is shown by its op's field names (addon/common/plan_wire.h); the
 * sections (namespaces, mounts, devices, capabilities, rlimits …) are views
 * of those steps. What exists only at run time is shown as a placeholder.
 */
import { createHash } from 'node:crypto';
import type { PreparedCreate } from '../lifecycle/prepare';
import type { TracedWrite } from '../cgroups';
import { CAPABILITIES } from './capabilities';
import { MS } from './mount-options';
import { CLONE } from './ns-order';
import { Op, type PlanStep } from './ops';
import { RLIMITS } from './process-steps';

/** Placeholders for what only exists once create runs. */
export const PLACEHOLDER = {
  initPid: '<init pid>',
  seccompState: '<containerProcessState, with the init pid>',
  consoleSocket: '<console socket>',
} as const;

/** Field names of each op, in wire order (plan_wire.h). A name ending in "..." takes the rest. */
const OPS: Record<number, { name: string; fields: string[] }> = {
  [Op.Setns]: { name: 'setns', fields: ['path', 'type'] },
  [Op.RootPropagation]: { name: 'root-propagation', fields: ['flags'] },
  [Op.BindRootfs]: { name: 'bind-rootfs', fields: ['rootfs'] },
  [Op.Mount]: { name: 'mount', fields: ['source', 'dest', 'fstype', 'flags', 'data', 'propagation', 'kind', 'copyup'] },
  [Op.Mknod]: { name: 'mknod', fields: ['dest', 'type', 'major', 'minor', 'mode', 'uid', 'gid', 'hostPath'] },
  [Op.Symlink]: { name: 'symlink', fields: ['target', 'dest'] },
  [Op.PivotRoot]: { name: 'pivot-root', fields: [] },
  [Op.MoveRoot]: { name: 'move-root', fields: [] },
  [Op.MaskPath]: { name: 'mask-path', fields: ['path'] },
  [Op.ReadonlyPath]: { name: 'readonly-path', fields: ['path'] },
  [Op.RootReadonly]: { name: 'root-readonly', fields: ['path'] },
  [Op.Hostname]: { name: 'hostname', fields: ['name'] },
  [Op.Domainname]: { name: 'domainname', fields: ['name'] },
  [Op.Sysctl]: { name: 'sysctl', fields: ['path', 'value'] },
  [Op.Rlimit]: { name: 'rlimit', fields: ['resource', 'soft', 'hard'] },
  [Op.OomScoreAdj]: { name: 'oom-score-adj', fields: ['value'] },
  [Op.OpenFifo]: { name: 'open-exec-fifo', fields: ['path'] },
  [Op.Identity]: { name: 'identity', fields: ['uid', 'gid', 'additionalGids', 'umask', 'noNewPrivileges', 'effective', 'permitted', 'inheritable', 'bounding', 'ambient'] },
  [Op.Chdir]: { name: 'chdir', fields: ['path'] },
  [Op.Ready]: { name: 'ready', fields: [] },
  [Op.Exec]: { name: 'exec', fields: ['path', 'preserveFds', 'argc', 'args...'] },
  [Op.Seccomp]: { name: 'seccomp', fields: ['flags', 'program', 'when', 'state'] },
  [Op.Unshare]: { name: 'unshare', fields: ['types...'] },
  [Op.JoinCgroup]: { name: 'join-cgroup', fields: ['tasks'] },
  [Op.SetnsPidfd]: { name: 'setns-pidfd', fields: ['fd', 'mask'] },
  [Op.Fork]: { name: 'fork', fields: [] },
  [Op.SeccompListener]: { name: 'seccomp-listener', fields: ['path'] },
  [Op.ConsoleConnect]: { name: 'console-connect', fields: ['fd'] },
  [Op.ConsoleSetup]: { name: 'console-setup', fields: ['rows', 'cols', 'mountConsole', 'clearOnlcr'] },
  [Op.RuntimeHooks]: { name: 'runtime-hooks', fields: [] },
  [Op.Hook]: { name: 'hook', fields: ['stage', 'path', 'timeout', 'statePrefix', 'stateSuffix', 'argc', 'args...'] },
  [Op.OpenStatusFifo]: { name: 'open-status-fifo', fields: ['path'] },
  [Op.MountSetattr]: { name: 'mount-setattr', fields: ['dest', 'attrSet', 'attrClr', 'propagation', 'recursive'] },
  [Op.MountIdmap]: { name: 'mount-idmap', fields: ['source', 'dest', 'kind', 'tree', 'idmapRecursive', 'uidMap', 'gidMap', 'attrSet', 'attrClr'] },
  [Op.MountTreeFd]: { name: 'mount-tree-fd', fields: ['dest', 'kind', 'source', 'tree', 'idmapRecursive', 'userns', 'uidMap', 'gidMap'] },
  [Op.Timens]: { name: 'timens', fields: ['offsets'] },
  [Op.Personality]: { name: 'personality', fields: ['persona'] },
  [Op.Scheduler]: { name: 'scheduler', fields: ['policy', 'flags', 'nice', 'priority', 'runtime', 'deadline', 'period'] },
  [Op.Ioprio]: { name: 'ioprio', fields: ['value'] },
  [Op.Mempolicy]: { name: 'mempolicy', fields: ['mode', 'nodes'] },
  [Op.CpuAffinity]: { name: 'cpu-affinity', fields: ['cpus'] },
  [Op.LsmExecLabel]: { name: 'lsm-exec-label', fields: ['lsm', 'label'] },
  [Op.Chroot]: { name: 'chroot', fields: ['path'] },
  [Op.LookPath]: { name: 'lookpath', fields: ['name', 'pathEnv', 'eaccessOp'] },
  [Op.Home]: { name: 'home', fields: ['uid'] },
};

export type StepValue = string | string[];
/** One plan step: its op's name and its fields by name (decoded where a number stands for names). */
export type RenderedStep = { op: string } & Record<string, StepValue>;

const MS_NAMES: [number, string][] = [
  [MS.RDONLY, 'ro'], [MS.NOSUID, 'nosuid'], [MS.NODEV, 'nodev'], [MS.NOEXEC, 'noexec'], [MS.SYNCHRONOUS, 'sync'],
  [MS.REMOUNT, 'remount'], [MS.MANDLOCK, 'mand'], [MS.DIRSYNC, 'dirsync'], [MS.NOSYMFOLLOW, 'nosymfollow'],
  [MS.NOATIME, 'noatime'], [MS.NODIRATIME, 'nodiratime'], [MS.BIND, 'bind'], [MS.MOVE, 'move'], [MS.REC, 'rec'],
  [MS.UNBINDABLE, 'unbindable'], [MS.PRIVATE, 'private'], [MS.SLAVE, 'slave'], [MS.SHARED, 'shared'],
  [MS.RELATIME, 'relatime'], [MS.STRICTATIME, 'strictatime'],
];

/** mount(2) flags as names ("bind,rec,ro"); unknown bits in hex. */
export function msNames(flags: number): string[] {
  const out: string[] = [];
  let rest = flags;
  for (const [bit, name] of MS_NAMES) {
    if (flags & bit) {
      out.push(name);
      rest &= ~bit;
    }
  }
  if (rest) out.push(`0x${rest.toString(16)}`);
  return out;
}

/** A 16-digit hex capability mask as names. */
export function capNames(hex: string): string[] {
  const mask = BigInt(`0x${hex || '0'}`);
  const out: string[] = [];
  for (let i = 0; i < 64; i++) if (mask & (1n << BigInt(i))) out.push(CAPABILITIES[i] ?? `CAP_${i}`);
  return out;
}

const CLONE_NAMES: [number, string][] = [
  [CLONE.NEWUSER, 'user'], [CLONE.NEWNS, 'mnt'], [CLONE.NEWUTS, 'uts'], [CLONE.NEWIPC, 'ipc'],
  [CLONE.NEWNET, 'net'], [CLONE.NEWPID, 'pid'], [CLONE.NEWCGROUP, 'cgroup'], [CLONE.NEWTIME, 'time'],
];

export function cloneNames(flags: number): string[] {
  return CLONE_NAMES.filter(([bit]) => (flags & bit) !== 0).map(([, n]) => n);
}

const RLIMIT_NAMES = new Map(Object.entries(RLIMITS).map(([k, v]) => [String(v), k]));

function text(f: string | Buffer | undefined): string {
  return f === undefined ? '' : typeof f === 'string' ? f : f.toString('utf8');
}

/** One step by its op's field names; numbers that stand for names are decoded. */
export function renderStep(s: PlanStep): RenderedStep {
  const def = OPS[s.op] ?? { name: `op-${s.op}`, fields: [] };
  const out: RenderedStep = { op: def.name };
  const fields = s.fields;
  let i = 0;
  for (const name of def.fields) {
    if (name.endsWith('...')) {
      out[name.slice(0, -3)] = fields.slice(i).map(text);
      i = fields.length;
      break;
    }
    if (i >= fields.length) break;
    out[name] = text(fields[i++]);
  }
  if (i < fields.length) out.more = fields.slice(i).map(text);
  switch (s.op) {
    case Op.Mount:
      out.flags = msNames(Number(out.flags));
      out.propagation = msNames(Number(out.propagation));
      break;
    case Op.RootPropagation:
      out.flags = msNames(Number(out.flags));
      break;
    case Op.Identity:
      for (const k of ['effective', 'permitted', 'inheritable', 'bounding', 'ambient']) out[k] = capNames(String(out[k]));
      break;
    case Op.Rlimit:
      out.resource = RLIMIT_NAMES.get(String(out.resource)) ?? String(out.resource);
      break;
    case Op.Exec:
    case Op.Hook: {
      // args... holds argv then env: argc says where the env starts.
      const rest = out.args as string[];
      const argc = Number(out.argc);
      out.args = rest.slice(0, argc);
      out.env = rest.slice(argc);
      delete out.argc;
      break;
    }
    case Op.Seccomp: {
      const prog = fields[1];
      const bytes = prog === undefined ? 0 : typeof prog === 'string' ? Buffer.byteLength(prog) : prog.length;
      const sum = prog === undefined ? '' : createHash('sha256').update(prog).digest('hex').slice(0, 16);
      out.program = `${bytes / 8} BPF instructions, sha256 ${sum}`;
      // Filled in with the init's pid right before the plan is sent (seccomp/plan.ts bindSeccompState).
      if (out.state !== '') out.state = PLACEHOLDER.seccompState;
      break;
    }
    default:
      break;
  }
  return out;
}

export interface Explained {
  id: string;
  bundle: string;
  rootfs: string;
  stateDir: string;
  namespaces: {
    /** fast: one clone with every new namespace's flag; staged: an intermediate joins, then forks. */
    shape: 'fast' | 'staged';
    clone: string[];
    stages: string[];
    bootstrap: RenderedStep[];
  };
  cgroup: {
    mode: string;
    paths: Record<string, string>;
    create: string[];
    /** How the init gets into its cgroups. */
    join: string[];
    writes: TracedWrite[];
  };
  mounts: RenderedStep[];
  devices: RenderedStep[];
  capabilities: Record<string, string[]>;
  rlimits: RenderedStep[];
  seccomp: null | {
    defaultAction: string;
    rules: number;
    notify: boolean;
    listenerPath?: string;
    instructions: number;
    load: string;
  };
  hooks: { stage: string; path: string; args: string[]; timeout?: number; where: string }[];
  process: {
    args: string[];
    env: string[];
    cwd: string;
    user: { uid: number; gid: number; additionalGids: number[]; umask?: number };
    terminal: boolean;
    console?: string;
    noNewPrivileges: boolean;
  };
  /** Every step of the init's plan, in order. */
  steps: RenderedStep[];
}

const MOUNT_OPS = new Set<number>([Op.BindRootfs, Op.Mount, Op.MountSetattr, Op.MountIdmap, Op.MountTreeFd, Op.MaskPath, Op.ReadonlyPath, Op.RootReadonly, Op.PivotRoot, Op.MoveRoot, Op.Chroot]);

/** Where each hook stage runs (runtime.md "Lifecycle"), in order. */
const HOOK_STAGES: [keyof NonNullable<PreparedCreate['config']['hooks']>, string][] = [
  ['prestart', 'runtime namespace, by tsrun (create)'],
  ['createRuntime', 'runtime namespace, by tsrun (create)'],
  ['createContainer', 'container namespaces before pivot_root, by the init (create)'],
  ['startContainer', 'container, by the init, before the user process (start)'],
  ['poststart', 'runtime namespace, by tsrun (start)'],
  ['poststop', 'runtime namespace, by tsrun (delete)'],
];

/** The prepared create as data; `cgroupWrites`: predicted (explain) or made (create's test dump). */
export function explainJson(p: PreparedCreate, cgroupWrites: readonly TracedWrite[]): Explained {
  const steps = p.plan.steps.map(renderStep);
  const proc = p.config.process!;
  const identity = steps.find((s) => s.op === 'identity');
  const exec = steps.find((s) => s.op === 'exec');
  const sc = p.seccomp;
  const profile = p.config.linux?.seccomp;
  const rec = p.cgroup.planned;
  const join: string[] = [];
  if (p.join?.unifiedDir) join.push(`clone3 CLONE_INTO_CGROUP ${p.join.unifiedDir}`);
  for (const t of p.join?.tasksFiles ?? []) join.push(`"0" > ${t} (by the init)`);
  if (!p.join && rec.mode !== 'disabled') join.push(`${PLACEHOLDER.initPid} > cgroup.procs of each directory (by tsrun, after the clone: new user namespace)`);
  return {
    id: p.id,
    bundle: p.bundle,
    rootfs: p.rootfs,
    stateDir: p.stateDir,
    namespaces: {
      shape: p.seq.bootstrap.length > 0 ? 'staged' : 'fast',
      clone: cloneNames(p.seq.cloneFlags),
      stages: [...p.seq.stages],
      bootstrap: p.seq.bootstrap.map(renderStep),
    },
    cgroup: { mode: rec.mode, paths: { ...rec.paths }, create: [...rec.created], join, writes: cgroupWrites.map((w) => ({ path: w.path, value: w.value })) },
    mounts: steps.filter((s) => MOUNT_OPS.has(opCode(s.op))),
    devices: steps.filter((s) => s.op === 'mknod' || s.op === 'symlink'),
    capabilities: identity
      ? Object.fromEntries(['bounding', 'effective', 'permitted', 'inheritable', 'ambient'].map((k) => [k, identity[k] as string[]]))
      : {},
    rlimits: steps.filter((s) => s.op === 'rlimit'),
    seccomp:
      sc && profile
        ? {
            defaultAction: profile.defaultAction,
            rules: (profile.syscalls ?? []).length,
            notify: sc.compiled.notify,
            ...(sc.compiled.listenerPath ? { listenerPath: sc.compiled.listenerPath } : {}),
            instructions: sc.compiled.instructions,
            load: sc.steps.atExec ? 'right before execve (no_new_privs)' : 'before the identity change (needs CAP_SYS_ADMIN)',
          }
        : null,
    hooks: HOOK_STAGES.flatMap(([stage, where]) =>
      (p.config.hooks?.[stage] ?? []).map((h) => ({ stage, path: h.path, args: h.args ?? [], ...(h.timeout !== undefined ? { timeout: h.timeout } : {}), where })),
    ),
    process: {
      args: (exec?.args as string[] | undefined) ?? proc.args ?? [],
      env: (exec?.env as string[] | undefined) ?? proc.env ?? [],
      cwd: proc.cwd,
      user: { uid: proc.user.uid, gid: proc.user.gid, additionalGids: proc.user.additionalGids ?? [], ...(proc.user.umask !== undefined ? { umask: proc.user.umask } : {}) },
      terminal: proc.terminal === true,
      ...(p.console ? { console: 'own' in p.console ? 'tsrun (foreground run)' : p.console.socket || PLACEHOLDER.consoleSocket } : {}),
      noNewPrivileges: proc.noNewPrivileges === true,
    },
    steps,
  };
}

const OP_BY_NAME = new Map(Object.entries(OPS).map(([code, d]) => [d.name, Number(code)]));
function opCode(name: string): number {
  return OP_BY_NAME.get(name) ?? -1;
}

/** One step on one line: "mount  proc → /proc  type proc  flags nosuid,noexec,nodev". */
export function stepLine(s: RenderedStep): string {
  const parts: string[] = [];
  for (const [k, v] of Object.entries(s)) {
    if (k === 'op') continue;
    const val = Array.isArray(v) ? v.join(k === 'args' || k === 'types' ? ' ' : ',') : v;
    if (val === '' || (Array.isArray(v) && v.length === 0)) continue;
    parts.push(`${k}=${/[\s"]/.test(val) ? JSON.stringify(val) : val}`);
  }
  return `${s.op.padEnd(16)} ${parts.join(' ')}`.trimEnd();
}

/** The human-readable explanation. */
export function formatExplained(e: Explained): string {
  const out: string[] = [];
  const section = (title: string) => out.push('', `${title}:`);
  const line = (s: string) => out.push(`  ${s}`);
  out.push(`container ${e.id}  bundle ${e.bundle}`, `rootfs ${e.rootfs}`, `state dir ${e.stateDir} (made by create)`);

  section(`namespaces (${e.namespaces.shape})`);
  line(`clone: ${e.namespaces.clone.length ? e.namespaces.clone.join(' ') : '(no namespace flag)'}`);
  line(`stages: ${e.namespaces.stages.join(' → ')}`);
  for (const s of e.namespaces.bootstrap) line(`bootstrap ${stepLine(s)}`);
  for (const s of e.steps.filter((x) => x.op === 'unshare' || x.op === 'timens' || x.op === 'setns')) line(`plan      ${stepLine(s)}`);

  section(`cgroups (${e.cgroup.mode})`);
  for (const [k, d] of Object.entries(e.cgroup.paths)) line(`${(k || 'unified').padEnd(12)} ${d}${e.cgroup.create.includes(d) ? '  (new)' : ''}`);
  // One line for the v1 tasks files (the plan section lists each).
  const tasks = e.cgroup.join.filter((j) => j.endsWith('/tasks (by the init)'));
  for (const j of e.cgroup.join) if (!tasks.includes(j)) line(`join: ${j}`);
  if (tasks.length) line(`join: "0" > tasks of ${tasks.length} v1 director${tasks.length === 1 ? 'y' : 'ies'} above, by the init first of all`);
  for (const w of e.cgroup.writes) line(`write ${JSON.stringify(w.value)} > ${w.path}`);

  section('mounts');
  for (const m of e.mounts) {
    if (m.op === 'mount') {
      const flags = (m.flags as string[]).join(',');
      const prop = (m.propagation as string[]).join(',');
      line(`${String(m.source) || '(remount)'} → ${String(m.dest)}  ${m.fstype ? `type ${String(m.fstype)}  ` : ''}${flags ? `flags ${flags}  ` : ''}${m.data ? `data ${String(m.data)}  ` : ''}${prop ? `propagation ${prop}` : ''}`.trimEnd());
    } else line(stepLine(m));
  }

  section('devices');
  for (const d of e.devices) {
    if (d.op === 'mknod') line(`${String(d.dest)}  ${String(d.type)} ${String(d.major)}:${String(d.minor)}  mode ${Number(d.mode).toString(8)}  uid ${String(d.uid)} gid ${String(d.gid)}`);
    else line(`${String(d.dest)} → ${String(d.target)}`);
  }

  section('capabilities');
  for (const [k, v] of Object.entries(e.capabilities)) line(`${k.padEnd(12)} ${v.length ? v.join(' ') : '(none)'}`);

  section('rlimits');
  if (e.rlimits.length === 0) line('(none)');
  for (const r of e.rlimits) line(`${String(r.resource).padEnd(18)} soft ${String(r.soft)}  hard ${String(r.hard)}`);

  section('seccomp');
  if (!e.seccomp) line('(none)');
  else {
    const s = e.seccomp;
    line(`default ${s.defaultAction}, ${s.rules} rule(s), ${s.instructions} BPF instructions, notify ${s.notify ? `yes (${s.listenerPath ?? '?'})` : 'no'}`);
    line(`loaded ${s.load}`);
  }

  section('hooks');
  if (e.hooks.length === 0) line('(none)');
  for (const h of e.hooks) line(`${h.stage.padEnd(16)} ${[h.path, ...h.args.slice(1)].join(' ')}${h.timeout !== undefined ? `  (timeout ${h.timeout}s)` : ''}  — ${h.where}`);

  section('process');
  const p = e.process;
  line(`args  ${p.args.map((a) => (/[\s"]/.test(a) ? JSON.stringify(a) : a)).join(' ')}`);
  line(`cwd   ${p.cwd}`);
  line(`user  uid ${p.user.uid} gid ${p.user.gid}${p.user.additionalGids.length ? ` groups ${p.user.additionalGids.join(',')}` : ''}${p.user.umask !== undefined ? ` umask ${p.user.umask.toString(8).padStart(4, '0')}` : ''}${p.noNewPrivileges ? '  no_new_privs' : ''}`);
  if (p.terminal) line(`tty   console socket ${p.console ?? '?'}`);
  for (const v of p.env) line(`env   ${v}`);
  if (e.steps.some((s) => s.op === 'home')) line('env   HOME=<from the container\'s /etc/passwd, else />');

  section(`plan (${e.steps.length} steps, run by the init)`);
  e.steps.forEach((s, i) => line(`${String(i + 1).padStart(3)} ${stepLine(s)}`));
  return out.join('\n') + '\n';
}
