/**
 * A small hand-written parser for runc's (urfave/cli v1 + Go `flag`) grammar,
 * driven by table.ts. It loads nothing but node:path, so every invocation
 * pays for Node's start-up and little else (yargs would triple it).
 *
 * Grammar:
 *   tsrun [global flags] <command> [command flags and positionals] [-- positionals]
 *   - `--name value`, `--name=value`, `-name value`, `-name=value` (one or two dashes,
 *     long names and aliases alike: `-bundle`, `-force`, `-no-subreaper`, `-b`, `--b`);
 *   - booleans take no separate value (`--detach`), but `--detach=true|false` works
 *     (Go's strconv.ParseBool spellings); a non-boolean flag always takes the next
 *     argument as its value, even if it starts with a dash (`--cpu-quota -1`);
 *   - global flags come before the command (conmon, go-runc, runtime-tools all do so);
 *   - command flags may come before or after positionals (urfave's argument
 *     reordering: runc accepts `delete <id> --force`), except for commands whose
 *     trailing arguments belong to someone else (exec, ps) where parsing stops at
 *     the first positional;
 *   - `--` ends flags; `-` alone is a positional;
 *   - an undefined flag is an error `flag provided but not defined: -x`, like Go's.
 */
import * as path from 'node:path';
import { TsrunError } from '../errors';
import type { Flags, Globals, Invocation } from './types';
import { COMMANDS, camel, CommandDef, FlagDef, findCommand, GLOBAL_FLAGS, HELP_FLAG } from './table';

/** A command-line error: printed as one line, exit status 1. */
export class UsageError extends TsrunError {
  constructor(
    message: string,
    /** Globals parsed before the error (so the error can still go to --log). */
    readonly globals: Partial<Globals>,
    /** The command, if it was recognised (for a usage hint). */
    readonly command?: string,
  ) {
    super(message, { exitCode: 1 });
    this.name = 'UsageError';
  }
}

export type ParseResult =
  | { kind: 'version'; globals: Globals }
  /** `--help`, `help [cmd]`, `<cmd> --help`, or no command at all. */
  | { kind: 'help'; globals: Globals; command?: string }
  | { kind: 'command'; def: CommandDef; invocation: Invocation };

type Values = Record<string, string | number | boolean | string[] | undefined>;

interface FlagIndex {
  byName: Map<string, FlagDef>;
}

function indexFlags(flags: readonly FlagDef[]): FlagIndex {
  const byName = new Map<string, FlagDef>();
  for (const f of flags) {
    byName.set(f.name, f);
    for (const a of f.alias ?? []) byName.set(a, f);
  }
  return { byName };
}

const GLOBAL_INDEX = indexFlags(GLOBAL_FLAGS);
const COMMAND_INDEX = new Map<string, FlagIndex>(COMMANDS.map((c) => [c.name, indexFlags([...c.flags, HELP_FLAG])]));

/** Go's strconv.ParseBool. */
function parseBool(s: string): boolean | undefined {
  switch (s) {
    case '1': case 't': case 'T': case 'true': case 'TRUE': case 'True':
      return true;
    case '0': case 'f': case 'F': case 'false': case 'FALSE': case 'False':
      return false;
    default:
      return undefined;
  }
}

/** Is this argument spelled like a flag (as opposed to a positional)? */
function looksLikeFlag(arg: string): boolean {
  return arg.length > 1 && arg[0] === '-';
}

/**
 * Parses one flag at args[i] into `values`; returns how many arguments it used.
 * `fail` builds the error (with the globals known so far).
 */
function parseFlag(args: readonly string[], i: number, index: FlagIndex, values: Values, fail: (m: string) => UsageError): number {
  const arg = args[i];
  const body = arg.startsWith('--') ? arg.slice(2) : arg.slice(1);
  if (body.length === 0 || body[0] === '-' || body[0] === '=') throw fail(`bad flag syntax: ${arg}`);
  const eq = body.indexOf('=');
  const name = eq < 0 ? body : body.slice(0, eq);
  const def = index.byName.get(name);
  if (!def) throw fail(`flag provided but not defined: -${name}`);
  const key = camel(def.name);
  if (def.type === 'boolean') {
    if (eq < 0) {
      values[key] = true;
    } else {
      const raw = body.slice(eq + 1);
      const b = parseBool(raw);
      if (b === undefined) throw fail(`invalid boolean value "${raw}" for -${name}: parse error`);
      values[key] = b;
    }
    return 1;
  }
  let value: string;
  let used = 1;
  if (eq >= 0) {
    value = body.slice(eq + 1);
  } else {
    if (i + 1 >= args.length) throw fail(`flag needs an argument: -${name}`);
    value = args[i + 1];
    used = 2;
  }
  if (def.choices && !def.choices.includes(value)) {
    throw fail(`invalid value "${value}" for flag -${name}: must be one of ${def.choices.join(', ')}`);
  }
  switch (def.type) {
    case 'number': {
      const n = /^[+-]?\d+$/.test(value) ? Number(value) : NaN;
      if (!Number.isSafeInteger(n)) throw fail(`invalid value "${value}" for flag -${name}: parse error`);
      values[key] = n;
      break;
    }
    case 'string[]': {
      const prev = values[key];
      values[key] = Array.isArray(prev) ? [...prev, value] : [value];
      break;
    }
    default:
      values[key] = value;
  }
  return used;
}

function applyDefaults(flags: readonly FlagDef[], values: Values): void {
  for (const f of flags) {
    const key = camel(f.name);
    if (values[key] !== undefined) continue;
    if (f.default !== undefined) values[key] = typeof f.default === 'function' ? f.default() : f.default;
    else if (f.type === 'boolean') values[key] = false;
    else if (f.type === 'string[]') values[key] = [];
  }
}

function toGlobals(v: Values): Globals {
  const level = v.logLevel === 'warning' ? 'warn' : (v.logLevel as Globals['logLevel']);
  const g: Globals = {
    // runc makes --root absolute (filepath.Abs).
    root: path.resolve(String(v.root)),
    logFormat: v.logFormat === 'json' ? 'json' : 'text',
    debug: v.debug === true,
    systemdCgroup: v.systemdCgroup === true,
    rootless: (v.rootless as Globals['rootless']) ?? 'auto',
  };
  if (typeof v.log === 'string' && v.log !== '') g.log = path.resolve(v.log);
  if (level) g.logLevel = level;
  if (v.cgroupManager !== undefined) g.cgroupManager = v.cgroupManager as Globals['cgroupManager'];
  return g;
}

/** What the parser knows of the globals so far, for logging a usage error. */
function partialGlobals(v: Values): Partial<Globals> {
  const g: Partial<Globals> = { logFormat: v.logFormat === 'json' ? 'json' : 'text', debug: v.debug === true };
  if (typeof v.log === 'string' && v.log !== '') g.log = path.resolve(v.log);
  return g;
}

function plural(n: number): string {
  return `${n} argument(s)`;
}

function checkArity(def: CommandDef, n: number, fail: (m: string) => UsageError): void {
  const { minArgs, maxArgs, name } = def;
  if (maxArgs !== undefined && minArgs === maxArgs) {
    if (n !== minArgs) throw fail(`tsrun: "${name}" requires exactly ${plural(minArgs)}`);
    return;
  }
  if (n < minArgs) throw fail(`tsrun: "${name}" requires a minimum of ${plural(minArgs)}`);
  if (maxArgs !== undefined && n > maxArgs) throw fail(`tsrun: "${name}" requires a maximum of ${plural(maxArgs)}`);
}

/** Parses process.argv.slice(2). Throws UsageError for anything malformed. */
export function parseArgv(args: readonly string[]): ParseResult {
  const gv: Values = {};
  const gfail = (m: string) => new UsageError(m, partialGlobals(gv));
  let i = 0;
  while (i < args.length && looksLikeFlag(args[i])) {
    if (args[i] === '--') {
      i++;
      break;
    }
    i += parseFlag(args, i, GLOBAL_INDEX, gv, gfail);
  }
  applyDefaults(GLOBAL_FLAGS, gv);
  const globals = toGlobals(gv);
  if (gv.version === true) return { kind: 'version', globals };
  if (gv.help === true || i >= args.length) return { kind: 'help', globals };

  const name = args[i++];
  if (name === 'help' || name === 'h') {
    const topic = args[i];
    if (topic !== undefined && !findCommand(topic)) throw gfail(`no help topic for '${topic}'`);
    return { kind: 'help', globals, command: topic };
  }
  const def = findCommand(name);
  if (!def) throw gfail(`unknown command "${name}" (see 'tsrun --help')`);

  const cv: Values = {};
  const cfail = (m: string) => new UsageError(m, partialGlobals(gv), def.name);
  const index = COMMAND_INDEX.get(def.name)!;
  const positionals: string[] = [];
  while (i < args.length) {
    const arg = args[i];
    if (arg === '--') {
      positionals.push(...args.slice(i + 1));
      break;
    }
    if (looksLikeFlag(arg) && !(def.stopAtFirstPositional && positionals.length > 0)) {
      i += parseFlag(args, i, index, cv, cfail);
      continue;
    }
    if (def.stopAtFirstPositional) {
      positionals.push(...args.slice(i));
      break;
    }
    positionals.push(arg);
    i++;
  }
  if (cv.help === true) return { kind: 'help', globals, command: def.name };
  delete cv.help;
  checkArity(def, positionals.length, cfail);
  applyDefaults(def.flags, cv);
  return { kind: 'command', def, invocation: { globals, command: def.name, flags: cv as Flags, positionals } };
}
