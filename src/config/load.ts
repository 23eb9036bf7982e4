/**
 * Reads and checks a bundle's config.json before anything is created:
 * bundle and file existence, JSON syntax (with line/column), the OCI JSON
 * schema (precompiled validators), then the semantic checks.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { TsrunError } from '../errors';
import { normalizeDeviations } from './deviations';
import { adaptToHost } from './host-adapt';
import { checkSemantics } from './semantic';
import type { Spec } from './types';
import { formatValidationError, validateConfig, type ValidationError } from './validators';

export interface LoadedBundle {
  config: Spec;
  /** Absolute, symlinks resolved. */
  bundle: string;
  /** Absolute host path of the root filesystem (root.path against the bundle), symlinks resolved. */
  rootfs: string;
  /** Semantic warnings, for the caller to log. */
  warnings: string[];
}

/** A config.json that failed validation; every problem stays available. */
export class ConfigError extends TsrunError {
  constructor(
    message: string,
    /** Schema errors (path + message), empty when the schema passed. */
    readonly schemaErrors: ValidationError[],
    /** All problems as one-line strings, schema or semantic, in order. */
    readonly errors: string[],
    readonly warnings: string[] = [],
    configPath?: string,
  ) {
    super(message, { path: configPath });
    this.name = 'TsrunError';
  }
}

function summary(errors: string[], bundle: string): string {
  const more = errors.length > 1 ? ` (and ${errors.length - 1} more: \`tsrun validate --bundle ${bundle}\` lists them all)` : '';
  return `invalid config.json: ${errors[0]}${more}`;
}

export function loadBundleConfig(bundleArg: string): LoadedBundle {
  const abs = path.resolve(bundleArg);
  let bundle: string;
  try {
    bundle = fs.realpathSync(abs);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new TsrunError(`bundle ${abs} does not exist`, { path: abs });
    throw new TsrunError(`bundle ${abs}: ${(e as Error).message}`, { path: abs });
  }
  if (!fs.statSync(bundle).isDirectory()) throw new TsrunError(`bundle ${abs} is not a directory`, { path: abs });

  const configPath = path.join(bundle, 'config.json');
  let text: string;
  try {
    text = fs.readFileSync(configPath, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new TsrunError(`bundle ${bundle} has no config.json`, { path: configPath });
    if (code === 'EISDIR') throw new TsrunError(`${configPath} is a directory, not a file`, { path: configPath });
    throw new TsrunError(`cannot read ${configPath}: ${(e as Error).message}`, { path: configPath });
  }

  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new TsrunError(`invalid config.json: ${jsonErrorText(text, (e as Error).message)}`, { path: configPath });
  }

  // What real engines send outside the schema and runc accepts (src/config/deviations.ts).
  const deviationWarnings = normalizeDeviations(doc);
  const schemaErrors = validateConfig(doc);
  if (schemaErrors.length > 0) {
    const lines = schemaErrors.map(formatValidationError);
    throw new ConfigError(summary(lines, bundle), schemaErrors, lines, [], configPath);
  }
  const config = doc as Spec;

  const rootfs = config.root ? resolveRootfs(bundle, config.root.path) : '';
  const semantic = checkSemantics(config, bundle, rootfs);
  const warnings = [...deviationWarnings, ...semantic.warnings];
  if (semantic.errors.length > 0) throw new ConfigError(summary(semantic.errors, bundle), [], semantic.errors, warnings, configPath);
  warnings.push(...adaptToHost(config));
  return { config, bundle, rootfs, warnings };
}

function resolveRootfs(bundle: string, rootPath: string): string {
  const abs = path.resolve(bundle, rootPath);
  try {
    return fs.realpathSync(abs);
  } catch {
    return abs; // the semantic check reports it
  }
}

/** V8's JSON.parse message, with the position as line:column (found by a scan when V8 gives none). */
function jsonErrorText(text: string, v8message: string): string {
  const m = /at position (\d+)/.exec(v8message);
  let pos = m ? Number(m[1]) : /Unexpected end of JSON input/.test(v8message) ? text.length : findJsonError(text);
  if (pos < 0) pos = text.length;
  const before = text.slice(0, pos);
  const line = before.split('\n').length;
  const column = pos - before.lastIndexOf('\n');
  const reason = v8message.replace(/ in JSON at position \d+.*$/, '').replace(/, ".*" is not valid JSON$/s, '');
  return `${reason} at line ${line} column ${column} (offset ${pos})`;
}

/** Offset of the first JSON syntax error in `s` (s.length when it ends early, -1 when none found). */
export function findJsonError(s: string): number {
  let i = 0;
  const ws = () => {
    while (i < s.length && ' \t\n\r'.includes(s[i])) i++;
  };
  class Stop extends Error {
    constructor(readonly at: number) {
      super('json');
    }
  }
  const fail = (): never => {
    throw new Stop(i);
  };
  const lit = (word: string) => {
    for (const ch of word) {
      if (s[i] !== ch) fail();
      i++;
    }
  };
  const str = () => {
    i++; // opening quote
    for (;;) {
      if (i >= s.length) fail();
      const c = s.charCodeAt(i);
      if (c === 0x22) {
        i++;
        return;
      }
      if (c < 0x20) fail();
      if (c === 0x5c) {
        i++;
        const e = s[i];
        if (e === 'u') {
          for (let k = 1; k <= 4; k++) if (!/[0-9a-fA-F]/.test(s[i + k] ?? '')) {
            i += k;
            fail();
          }
          i += 5;
        } else if (e !== undefined && '"\\/bfnrt'.includes(e)) i++;
        else fail();
      } else i++;
    }
  };
  const num = () => {
    const re = /-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?/y;
    re.lastIndex = i;
    const m = re.exec(s);
    if (!m || m[0] === '' || m[0] === '-') fail();
    i += (m as RegExpExecArray)[0].length;
  };
  const value = (): void => {
    ws();
    const c = s[i];
    if (c === '{') {
      i++;
      ws();
      if (s[i] === '}') {
        i++;
        return;
      }
      for (;;) {
        ws();
        if (s[i] !== '"') fail();
        str();
        ws();
        if (s[i] !== ':') fail();
        i++;
        value();
        ws();
        if (s[i] === ',') {
          i++;
          continue;
        }
        if (s[i] === '}') {
          i++;
          return;
        }
        fail();
      }
    } else if (c === '[') {
      i++;
      ws();
      if (s[i] === ']') {
        i++;
        return;
      }
      for (;;) {
        value();
        ws();
        if (s[i] === ',') {
          i++;
          continue;
        }
        if (s[i] === ']') {
          i++;
          return;
        }
        fail();
      }
    } else if (c === '"') str();
    else if (c === 't') lit('true');
    else if (c === 'f') lit('false');
    else if (c === 'n') lit('null');
    else if (c === '-' || (c !== undefined && c >= '0' && c <= '9')) num();
    else fail();
  };
  try {
    value();
    ws();
    if (i < s.length) fail();
    return -1;
  } catch (e) {
    if (e instanceof Stop) return e.at;
    throw e;
  }
}
