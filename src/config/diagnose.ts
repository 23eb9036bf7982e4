/**
 * Every problem of a bundle's config.json at once (`tsrun validate`): JSON
 * syntax, every schema error, every semantic error, and warnings, including
 * what this host lacks for the config (an LSM, a hugepage size, a cgroup
 * controller, a capability). Each finding carries its JSON pointer, the rule
 * it breaks and the runtime-spec section that defines the field.
 *
 * `create` uses the same checks (config/load.ts) but stops at the first
 * failing stage; this module never stops early and never creates anything.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { TsrunError } from '../errors';
import { checkHostExtras } from '../lifecycle/host-extras';
import { readHostCgroups } from '../plan/host-cgroups';
import { available } from '../cgroups/manager';
import { hugePageSizes } from '../cgroups/stats';
import { normalizeDeviations } from './deviations';
import { adaptToHost } from './host-adapt';
import { checkSemantics } from './semantic';
import { fieldToPointer, specLink } from './spec-links';
import type { Spec } from './types';
import { validateConfig } from './validators';

export interface Finding {
  level: 'error' | 'warning';
  /** Which check found it. */
  check: 'bundle' | 'json' | 'schema' | 'semantic' | 'host';
  /** JSON pointer of the field ("/" for the document). */
  pointer: string;
  message: string;
  /** runtime-spec v1.3.0 section defining the field. */
  spec: string;
}

export interface Diagnosis {
  configPath: string;
  findings: Finding[];
}

function finding(level: Finding['level'], check: Finding['check'], pointer: string, message: string): Finding {
  return { level, check, pointer, message, spec: specLink(pointer) };
}

/** `linux.namespaces[2].path: does not exist` → pointer + message. */
function fromLine(level: Finding['level'], check: Finding['check'], line: string): Finding {
  const m = /^([A-Za-z][A-Za-z0-9_.[\]"]*?)(?::| is | has ) ?(.*)$/s.exec(line);
  if (m) {
    const pointer = fieldToPointer(m[1]);
    if (pointer !== '/') return finding(level, check, pointer, line.slice(m[1].length).replace(/^:\s*/, '').trim() || line);
  }
  return finding(level, check, '/', line);
}

export function diagnoseBundle(bundleArg: string): Diagnosis {
  const bundle = path.resolve(bundleArg);
  const configPath = path.join(bundle, 'config.json');
  const findings: Finding[] = [];
  let text: string;
  try {
    text = fs.readFileSync(configPath, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? (fs.existsSync(bundle) ? 'bundle has no config.json' : `bundle ${bundle} does not exist`) : `cannot read: ${(e as Error).message}`;
    findings.push(finding('error', 'bundle', '/', why));
    return { configPath, findings };
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    findings.push(finding('error', 'json', '/', (e as Error).message));
    return { configPath, findings };
  }
  for (const w of normalizeDeviations(doc)) findings.push(fromLine('warning', 'schema', w));
  const schemaErrors = validateConfig(doc);
  for (const e of schemaErrors) findings.push(finding('error', 'schema', e.path, e.message));
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) return { configPath, findings };

  // Semantic checks walk a schema-valid shape: run them on a copy without the refused values.
  const config = (schemaErrors.length ? prune(doc, schemaErrors.map((e) => e.path)) : doc) as Spec;
  const rootfs = typeof config.root?.path === 'string' ? resolveRootfs(bundle, config.root.path) : '';
  try {
    const { errors, warnings } = checkSemantics(config, bundle, rootfs);
    for (const l of errors) findings.push(fromLine('error', 'semantic', l));
    for (const l of warnings) findings.push(fromLine('warning', 'semantic', l));
  } catch (e) {
    // A document the schema refused may not have the shape the semantic checks walk.
    if (schemaErrors.length === 0) throw e;
    findings.push(finding('warning', 'semantic', '/', `semantic checks stopped early on the schema errors above (${(e as Error).message})`));
  }
  if (schemaErrors.length === 0) findings.push(...hostFindings(JSON.parse(JSON.stringify(config)) as Spec));
  return { configPath, findings };
}

/** A deep copy of `doc` with the values at `pointers` removed (array items spliced out, last first). */
function prune(doc: object, pointers: readonly string[]): unknown {
  const copy = JSON.parse(JSON.stringify(doc)) as unknown;
  const keys = pointers
    .filter((p) => p !== '/')
    .map((p) => p.slice(1).split('/').map((k) => k.replace(/~1/g, '/').replace(/~0/g, '~')))
    .sort((a, b) => b.length - a.length || (b.join('/') < a.join('/') ? -1 : 1));
  for (const k of keys) {
    let cur: unknown = copy;
    for (const seg of k.slice(0, -1)) cur = cur !== null && typeof cur === 'object' ? (cur as Record<string, unknown>)[seg] : undefined;
    if (cur === null || typeof cur !== 'object') continue;
    const last = k[k.length - 1];
    if (Array.isArray(cur)) {
      const i = Number(last);
      if (Number.isInteger(i) && i < cur.length) cur.splice(i, 1);
    } else delete (cur as Record<string, unknown>)[last];
  }
  return copy;
}

function resolveRootfs(bundle: string, rootPath: string): string {
  const abs = path.resolve(bundle, rootPath);
  try {
    return fs.realpathSync(abs);
  } catch {
    return abs;
  }
}

/** Page sizes this host offers, as the spec spells them ("2MB", "1GB", "64KB"). */
export function hostHugepageSizes(): string[] {
  return hugePageSizes().sort();
}

/** linux.resources keys → the cgroup controllers that serve them (either is enough). */
const RESOURCE_CONTROLLERS: Readonly<Record<string, readonly string[]>> = {
  memory: ['memory'],
  cpu: ['cpu', 'cpuset'],
  blockIO: ['blkio', 'io'],
  hugepageLimits: ['hugetlb'],
  pids: ['pids'],
  network: ['net_cls', 'net_prio'],
  rdma: ['rdma'],
};

function hostControllers(): Set<string> {
  const have = new Set<string>();
  for (const m of readHostCgroups().mounts) for (const c of m.fsType === 'cgroup' ? m.controllers : available(m.mountPoint)) have.add(c);
  return have;
}

/** What this host cannot give the config; `create` would fail or drop something. */
export function hostFindings(config: Spec): Finding[] {
  const out: Finding[] = [];
  // What create warns about and drops (capabilities the host cannot grant, a mount label without SELinux).
  for (const w of adaptToHost(config)) out.push(fromLine('warning', 'host', w));
  try {
    checkHostExtras(config);
  } catch (e) {
    if (!(e instanceof TsrunError)) throw e;
    out.push(fromLine('error', 'host', e.message));
  }
  const res = (config.linux?.resources ?? {}) as Record<string, unknown>;
  const limits = (res.hugepageLimits ?? []) as Array<{ pageSize?: string }>;
  if (limits.length > 0) {
    const sizes = hostHugepageSizes();
    limits.forEach((l, i) => {
      if (l.pageSize && !sizes.includes(l.pageSize))
        out.push(finding('warning', 'host', `/linux/resources/hugepageLimits/${i}/pageSize`, `page size ${l.pageSize} is not offered by this host (it has: ${sizes.join(', ') || 'no hugepages'})`));
    });
  }
  let have: Set<string> | undefined;
  for (const [key, ctrls] of Object.entries(RESOURCE_CONTROLLERS)) {
    const v = res[key];
    if (v === undefined || (Array.isArray(v) && v.length === 0)) continue;
    have ??= hostControllers();
    if (!ctrls.some((c) => have!.has(c)))
      out.push(finding('warning', 'host', `/linux/resources/${key}`, `no ${ctrls.join(' or ')} cgroup controller is available on this host`));
  }
  return out;
}

/** Text report: one line a finding, then a summary line. */
export function formatDiagnosis(d: Diagnosis): string {
  const lines = d.findings.map((f) => `${f.level === 'error' ? 'error  ' : 'warning'} ${f.pointer}: ${f.message}\n        [${f.check}] ${f.spec}`);
  const errors = d.findings.filter((f) => f.level === 'error').length;
  const warnings = d.findings.length - errors;
  const plural = (n: number, w: string) => `${n} ${w}${n === 1 ? '' : 's'}`;
  lines.push(`${d.configPath}: ${errors === 0 ? 'valid' : 'invalid'}, ${plural(errors, 'error')}, ${plural(warnings, 'warning')}`);
  return lines.join('\n') + '\n';
}
