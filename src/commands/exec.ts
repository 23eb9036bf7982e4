/**
 * `tsrun exec [flags] <id> [command args...]` (runc's exec.go): the process
 * is --process, or the container's config.process with the flags applied.
 * Failures print "exec failed: <reason>" and exit 255, as runc 1.1.
 */
import type { CommandRun, Invocation } from '../cli/types';
import { TsrunError } from '../errors';
import type { Process } from '../config/types';
import { containerConfig, execProcess, parseSubCgroups, readProcessFile, validateProcess } from '../lifecycle/exec';
import { getLogger } from '../log/logger';
import { dropUngrantable, grantableMask } from '../plan/capabilities';
import { loadState } from '../state/store';

const strs = (v: unknown): string[] => (Array.isArray(v) ? v.map(String) : v === undefined ? [] : [String(v)]);

function parseId(s: string, what: string): number {
  if (!/^\d+$/.test(s)) throw new TsrunError(`parsing ${s} as ${what}: invalid syntax`);
  const n = Number(s);
  if (n > 0xffffffff) throw new TsrunError(`parsing ${s} as ${what}: value out of range`);
  return n;
}

/** runc's getProcess for the flag form. */
export function processFromFlags(inv: Invocation, base: Process): Process {
  const f = inv.flags;
  const p: Process = JSON.parse(JSON.stringify(base)) as Process;
  p.args = inv.positionals.slice(1);
  if (f.cwd !== undefined && f.cwd !== '') p.cwd = String(f.cwd);
  if (f.apparmor !== undefined && f.apparmor !== '') p.apparmorProfile = String(f.apparmor);
  if (f.processLabel !== undefined && f.processLabel !== '') p.selinuxLabel = String(f.processLabel);
  const caps = strs(f.cap);
  if (caps.length > 0) {
    const c = (p.capabilities ??= {});
    for (const cap of caps) {
      for (const set of ['bounding', 'effective', 'permitted'] as const) (c[set] ??= []).push(cap);
      // Ambient only takes what is inheritable (an ambient raise needs it); runc's raise fails silently otherwise.
      if ((c.inheritable ?? []).includes(cap)) (c.ambient ??= []).push(cap);
    }
  }
  p.env = [...(p.env ?? []), ...strs(f.env)];
  p.terminal = Boolean(f.tty);
  if (f.noNewPrivs !== undefined) p.noNewPrivileges = Boolean(f.noNewPrivs);
  if (f.user !== undefined && f.user !== '') {
    const [u, g] = String(f.user).split(':', 2);
    p.user = { ...p.user, uid: parseId(u, 'uid') };
    if (g !== undefined) p.user.gid = parseId(g, 'gid');
  }
  const gids = strs(f.additionalGids);
  if (gids.length > 0) p.user.additionalGids = [...(p.user.additionalGids ?? []), ...gids.map((g) => parseId(g, 'additional gid'))];
  return validateProcess(p, 'exec');
}

export const run: CommandRun = async (inv) => {
  try {
    const id = inv.positionals[0];
    const root = inv.globals.root;
    const preserveFds = Number(inv.flags.preserveFds ?? 0);
    if (!Number.isInteger(preserveFds) || preserveFds < 0) throw new TsrunError(`--preserve-fds: invalid value "${inv.flags.preserveFds}"`);
    const subCgroups = strs(inv.flags.cgroup);
    parseSubCgroups(subCgroups); // runc's argument errors first
    let proc: Process;
    const rec = loadState(root, id); // "container does not exist" before anything else
    const config = containerConfig(rec);
    if (inv.flags.process !== undefined && inv.flags.process !== '') {
      proc = readProcessFile(String(inv.flags.process));
    } else {
      if (inv.positionals.length < 2) throw new TsrunError('exec: no command given (and no --process)');
      const base = config.process;
      if (!base) throw new TsrunError('the container config has no process');
      proc = processFromFlags(inv, base);
    }
    // runtime-spec 1.3.0: what cannot be granted is warned about and dropped, not fatal (as create).
    const inUserNs = (config.linux?.namespaces ?? []).some((n) => n.type === 'user');
    for (const w of dropUngrantable(proc.capabilities, grantableMask(inUserNs), 'process.capabilities')) getLogger().warn(w);
    return await execProcess({
      globals: inv.globals,
      id,
      proc,
      detach: Boolean(inv.flags.detach),
      pidFile: inv.flags.pidFile === undefined ? undefined : String(inv.flags.pidFile),
      consoleSocket: inv.flags.consoleSocket === undefined ? undefined : String(inv.flags.consoleSocket),
      preserveFds,
      subCgroups,
      ignorePaused: Boolean(inv.flags.ignorePaused),
    });
  } catch (e) {
    if (e instanceof TsrunError) throw new TsrunError(`exec failed: ${e.message}`, { ...e.context, exitCode: 255 });
    throw e;
  }
};
