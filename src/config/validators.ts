/**
 * Typed access to the precompiled OCI schema validators.
 *
 * scripts/build-validators.mjs turns schemas/*.json into ajv standalone code
 * (dist/src/config/validators.generated.js), so no command ever compiles a
 * schema at start-up: loading the generated module costs a few milliseconds,
 * compiling the schemas with ajv ~220 ms. The module is required lazily, on
 * the first validation, so commands that never validate never load it.
 *
 * ajv's raw errors are turned into `{ path, message }` pairs: `path` is the
 * JSON pointer of the offending value ("/" for the document itself), and
 * `message` says what was expected, e.g. `must be string`,
 * `missing required property "cwd"`. The noise that anyOf/oneOf produce (one
 * error per branch plus "must match a schema in anyOf") is reduced to the
 * most specific error.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ErrorObject } from 'ajv';
import { TsrunError } from '../errors';
import { loadWithCodeCache } from '../util/code-cache';

export interface ValidationError {
  /** JSON pointer of the offending value, like /process/args; "/" for the document root. */
  path: string;
  /** What was expected, human-readable, without the path. */
  message: string;
}

export type ValidateFn = (doc: unknown) => ValidationError[];

export interface Validators {
  config: ValidateFn;
  state: ValidateFn;
  features: ValidateFn;
}

/** The shape of an ajv standalone validate function. */
interface CompiledValidator {
  (data: unknown): boolean;
  errors?: ErrorObject[] | null;
}

interface GeneratedModule {
  validateConfig: CompiledValidator;
  validateState: CompiledValidator;
  validateFeatures: CompiledValidator;
}

let cached: Validators | undefined;

/** Loads (once) the generated validators and wraps them. */
export function loadValidators(): Validators {
  if (cached) return cached;
  let mod: GeneratedModule;
  try {
    // Relative to the compiled file: dist/src/config/validators.generated.js,
    // loaded with its build-time V8 code cache (it is ~270 KB of generated code).
    const file = path.join(__dirname, 'validators.generated.js');
    if (!fs.existsSync(file)) throw Object.assign(new Error(file), { code: 'MODULE_NOT_FOUND' });
    mod = loadWithCodeCache(file) as GeneratedModule;
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err && err.code === 'MODULE_NOT_FOUND') {
      throw new TsrunError('schema validators are not built (dist/src/config/validators.generated.js missing; run npm run build:ts)');
    }
    throw e;
  }
  cached = {
    config: wrap(mod.validateConfig),
    state: wrap(mod.validateState),
    features: wrap(mod.validateFeatures),
  };
  return cached;
}

/** Schema-validates a config.json document; [] when valid. */
export function validateConfig(doc: unknown): ValidationError[] {
  return loadValidators().config(doc);
}

/** Schema-validates a state document; [] when valid. */
export function validateState(doc: unknown): ValidationError[] {
  return loadValidators().state(doc);
}

/** Schema-validates a features document; [] when valid. */
export function validateFeatures(doc: unknown): ValidationError[] {
  return loadValidators().features(doc);
}

/** One line: `/process/cwd: must be string`. */
export function formatValidationError(e: ValidationError): string {
  return `${e.path}: ${e.message}`;
}

function wrap(fn: CompiledValidator): ValidateFn {
  return (doc: unknown) => {
    if (fn(doc)) return [];
    return simplifyErrors(fn.errors ?? [], doc);
  };
}

const COMBINATORS = new Set(['anyOf', 'oneOf']);

function isAtOrUnder(path: string, base: string): boolean {
  return path === base || path.startsWith(base + '/');
}

/**
 * Turns ajv's errors into ValidationErrors, dropping combinator noise:
 * - an anyOf/oneOf error is dropped when its branches reported something at or
 *   under the same path (those say more); kept, reworded, otherwise;
 * - when one branch got past the type check (it reported a non-type error at or
 *   under that path), the other branches' "must be <type>" errors at that path
 *   are dropped: the value evidently was meant to be of the matching type;
 * - remaining type errors at one path are merged ("must be string or object"),
 *   and so are enum errors;
 * - exact duplicates are removed.
 * Exported for tests.
 */
export function simplifyErrors(raw: readonly ErrorObject[], doc: unknown): ValidationError[] {
  const drop = new Set<ErrorObject>();
  for (const c of raw) {
    if (!COMBINATORS.has(c.keyword)) continue;
    const p = c.instancePath;
    const related = raw.filter((e) => e !== c && !COMBINATORS.has(e.keyword) && isAtOrUnder(e.instancePath, p));
    if (related.length === 0) continue;
    drop.add(c);
    const specific = related.filter((e) => !(e.keyword === 'type' && e.instancePath === p));
    if (specific.length > 0) {
      for (const e of related) if (e.keyword === 'type' && e.instancePath === p) drop.add(e);
    }
  }

  const out: ValidationError[] = [];
  const typeAt = new Map<string, { entry: ValidationError; types: string[] }>();
  const enumAt = new Map<string, { entry: ValidationError; values: unknown[] }>();
  const seen = new Set<string>();
  for (const e of raw) {
    if (drop.has(e)) continue;
    const path = e.instancePath === '' ? '/' : e.instancePath;
    if (e.keyword === 'type') {
      const types = String((e.params as { type?: string | string[] }).type ?? '').split(',');
      const prev = typeAt.get(path);
      if (prev) {
        for (const t of types) if (!prev.types.includes(t)) prev.types.push(t);
        prev.entry.message = `must be ${joinOr(prev.types)}${got(doc, e.instancePath)}`;
        continue;
      }
      const entry = { path, message: `must be ${joinOr(types)}${got(doc, e.instancePath)}` };
      typeAt.set(path, { entry, types: [...types] });
      out.push(entry);
      continue;
    }
    if (e.keyword === 'enum') {
      const values = ((e.params as { allowedValues?: unknown[] }).allowedValues ?? []).slice();
      const prev = enumAt.get(path);
      if (prev) {
        for (const v of values) if (!prev.values.includes(v)) prev.values.push(v);
        prev.entry.message = enumMessage(prev.values, doc, e.instancePath);
        continue;
      }
      const entry = { path, message: enumMessage(values, doc, e.instancePath) };
      enumAt.set(path, { entry, values });
      out.push(entry);
      continue;
    }
    const entry = { path, message: describe(e, doc) };
    const key = `${entry.path}\0${entry.message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(entry);
  }
  return out;
}

function describe(e: ErrorObject, doc: unknown): string {
  const params = e.params as Record<string, unknown>;
  switch (e.keyword) {
    case 'required':
      return `missing required property ${JSON.stringify(params.missingProperty)}`;
    case 'additionalProperties':
      return `unexpected property ${JSON.stringify(params.additionalProperty)}`;
    case 'dependencies':
      return `property ${JSON.stringify(params.property)} requires property ${JSON.stringify(params.missingProperty)}`;
    case 'pattern':
      return `must match pattern ${JSON.stringify(params.pattern)}${got(doc, e.instancePath)}`;
    case 'anyOf':
      return 'does not match any of the allowed forms';
    case 'oneOf':
      return params.passingSchemas
        ? 'matches more than one of the allowed forms (must match exactly one)'
        : 'does not match any of the allowed forms';
    case 'minimum':
    case 'maximum':
    case 'exclusiveMinimum':
    case 'exclusiveMaximum':
      return `${e.message ?? 'out of range'}${got(doc, e.instancePath)}`;
    case 'minItems':
      return `must have at least ${String(params.limit)} item${params.limit === 1 ? '' : 's'}`;
    case 'maxItems':
      return `must have at most ${String(params.limit)} item${params.limit === 1 ? '' : 's'}`;
    case 'minLength':
      return `must be at least ${String(params.limit)} character${params.limit === 1 ? '' : 's'} long`;
    case 'maxLength':
      return `must be at most ${String(params.limit)} character${params.limit === 1 ? '' : 's'} long`;
    case 'uniqueItems':
      return `must not contain duplicate items (items ${String(params.j)} and ${String(params.i)} are identical)`;
    default:
      return (e.message ?? `fails ${e.keyword}`).replace(/NOT/g, 'not');
  }
}

function enumMessage(values: unknown[], doc: unknown, pointer: string): string {
  const list = values.map((v) => JSON.stringify(v)).join(', ');
  return `must be one of ${list}${got(doc, pointer)}`;
}

function joinOr(items: string[]): string {
  if (items.length <= 1) return items.join('');
  return `${items.slice(0, -1).join(', ')} or ${items[items.length - 1]}`;
}

/** `, got "foo"` for short scalar values; '' otherwise. */
function got(doc: unknown, pointer: string): string {
  const v = atPointer(doc, pointer);
  if (v.found && (typeof v.value === 'string' || typeof v.value === 'number' || typeof v.value === 'boolean' || v.value === null)) {
    const s = JSON.stringify(v.value);
    if (s.length <= 60) return ` (got ${s})`;
    return ` (got ${s.slice(0, 57)}...)`;
  }
  if (v.found && Array.isArray(v.value)) return ' (got array)';
  if (v.found && typeof v.value === 'object') return ' (got object)';
  return '';
}

function atPointer(doc: unknown, pointer: string): { found: boolean; value?: unknown } {
  if (pointer === '') return { found: true, value: doc };
  let cur: unknown = doc;
  for (const raw of pointer.slice(1).split('/')) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (cur !== null && typeof cur === 'object' && Object.prototype.hasOwnProperty.call(cur, key)) {
      cur = (cur as Record<string, unknown>)[key];
    } else {
      return { found: false };
    }
  }
  return { found: true, value: cur };
}
