/**
 * What bin/tsrun (addon/launcher/tsrun.c) runs, as the main module: loads the
 * CLI from the per-command bundles that scripts/bundle.mjs makes
 * (dist/bundle/), each with a V8 code cache, and falls back to the plain
 * compiled files when there is no bundle.
 *
 * Why: Node's start-up is the floor of every command, and on top of it
 * resolving, stat()ing, reading and compiling 15-60 small modules cost more
 * than the command's own work. One file per command, compiled from a cache,
 * costs a fraction of that.
 *
 * The module system here is the minimum tsc's CommonJS needs: a module is a
 * function (exports, require, module, __filename, __dirname) registered under
 * its path below dist/ (its "key"); `require("tsrun:<key>")` instantiates it
 * once; a key no loaded bundle has makes the loader read the bundle named
 * after that key (dist/bundle/<key>), then fall back to Node's require of the
 * file itself. Other specifiers (node:*, npm packages, the .node addon) go to
 * Node's require.
 *
 * Code cache: dist/bundle/<key>.cache (<key>.fixed-seed.cache under
 * --no-rehash-snapshot, see src/util/hash-flood.ts: V8 rejects a cache made
 * under other flags, and one file for both would be rewritten back and forth). It is (re)written, atomically, when a
 * command that used the bundle exits 0 and the cache was missing or rejected
 * (another Node version or V8 flags), so it holds the functions a real run
 * compiled. Nothing is written where the process cannot write, and a bad
 * cache only costs speed: V8 checks it and compiles from source.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vm from 'node:vm';

type Factory = (exports: unknown, require: (spec: string) => unknown, module: Mod, filename: string, dirname: string) => void;
interface Mod {
  exports: unknown;
}

const DIST = path.join(__dirname, '..', '..');
const BUNDLES = path.join(DIST, 'bundle');
const PREFIX = 'tsrun:';

const factories = new Map<string, Factory>();
const instances = new Map<string, Mod>();
const triedBundles = new Set<string>();
const staleCaches: { file: string; script: vm.Script }[] = [];
const CACHE_SUFFIX = process.execArgv.includes('--no-rehash-snapshot') ? '.fixed-seed.cache' : '.cache';

/** Reads dist/bundle/<key> (and its cache) and registers its modules; false when there is none. */
function loadBundle(key: string): boolean {
  if (triedBundles.has(key)) return false;
  triedBundles.add(key);
  const file = path.join(BUNDLES, key);
  let source: string;
  try {
    source = fs.readFileSync(file, 'latin1'); // pure ASCII (scripts/ascii.mjs): the fast one-byte read
  } catch {
    return false;
  }
  let cachedData: Buffer | undefined;
  try {
    cachedData = fs.readFileSync(file + CACHE_SUFFIX);
  } catch {
    cachedData = undefined;
  }
  const script = new vm.Script(source, { filename: file, cachedData });
  if (cachedData === undefined || script.cachedDataRejected === true || process.env.TSRUN_WRITE_CODE_CACHE === '1') {
    staleCaches.push({ file: file + CACHE_SUFFIX, script });
  }
  const table = script.runInThisContext() as Record<string, Factory>;
  for (const k of Object.keys(table)) if (!factories.has(k)) factories.set(k, table[k]);
  return true;
}

function keyOfAbsolute(file: string): string | undefined {
  const rel = path.relative(DIST, file);
  return rel.startsWith('src' + path.sep) && rel.endsWith('.js') ? rel.split(path.sep).join('/') : undefined;
}

function requireKey(key: string): unknown {
  const done = instances.get(key);
  if (done) return done.exports;
  let factory = factories.get(key);
  if (!factory && loadBundle(key)) factory = factories.get(key);
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  if (!factory) return require(path.join(DIST, key));
  const filename = path.join(DIST, key);
  const mod: Mod = { exports: {} };
  instances.set(key, mod);
  try {
    factory.call(mod.exports, mod.exports, requireFrom, mod, filename, path.dirname(filename));
  } catch (e) {
    instances.delete(key);
    throw e;
  }
  return mod.exports;
}

function requireFrom(spec: string): unknown {
  if (spec.startsWith(PREFIX)) return requireKey(spec.slice(PREFIX.length));
  if (path.isAbsolute(spec)) {
    const key = keyOfAbsolute(spec);
    if (key) return requireKey(key);
  }
  // node:* built-ins and npm packages resolve from dist/src/cli as from any module under dist/src.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require(spec);
}

/**
 * Set (to true) by a run that is not the command's usual work (`create
 * --dry-run`): a cache made from it would lack the functions the real command
 * compiles, and is never rewritten once V8 accepts it.
 */
export const NO_CODE_CACHE = Symbol.for('tsrun.noCodeCache');

/** Writes the caches that were missing or rejected, after a successful run (atomic rename). */
function writeCaches(code: number): void {
  if (code !== 0 || (globalThis as { [NO_CODE_CACHE]?: boolean })[NO_CODE_CACHE] === true) return;
  for (const { file, script } of staleCaches) {
    const tmp = `${file}.${process.pid}.tmp`;
    try {
      fs.writeFileSync(tmp, script.createCachedData(), { mode: 0o644 });
      fs.renameSync(tmp, file);
    } catch {
      try {
        fs.unlinkSync(tmp);
      } catch {
        /* nothing was written */
      }
    }
  }
}

/** Global flags that take the next argument as their value (table.ts GLOBAL_FLAGS; a unit test keeps them equal). */
export const VALUED_GLOBALS: readonly string[] = ['log', 'log-format', 'log-level', 'root', 'rootless', 'cgroup-manager'];

/**
 * The command argv names, found as argv.ts finds it: the first argument after
 * the global flags and their values ("--root state create x" is a create).
 */
export function guessCommand(argv: readonly string[]): string | undefined {
  let i = 0;
  while (i < argv.length && argv[i].length > 1 && argv[i][0] === '-') {
    const a = argv[i++];
    if (a === '--') break;
    const name = a.replace(/^--?/, '');
    if (!name.includes('=') && VALUED_GLOBALS.includes(name)) i++;
  }
  return argv[i];
}

/** Loads the bundle of the command argv names, which holds the CLI core too. A wrong pick is still correct (main.ts then loads the right one), only slower. */
function loadCommandBundle(argv: readonly string[]): void {
  const verb = guessCommand(argv);
  if (verb !== undefined && isLowercaseWord(verb)) loadBundle(`src/commands/${verb}.js`);
}

function isLowercaseWord(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 97 || c > 122) return false;
  }
  return s.length > 0;
}

/** Runs the CLI: from the bundles when they exist, else from the plain files. */
export function boot(): void {
  if (process.env.TSRUN_NO_BUNDLE !== '1') {
    loadCommandBundle(process.argv.slice(2));
    if (factories.has('src/cli/main.js') || loadBundle('src/cli/main.js')) {
      process.on('exit', writeCaches);
      requireKey('src/cli/main.js');
      return;
    }
  }
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  require('./main');
}

// build/Release/tsrun (bin/tsrun) runs this file as Node's main module.
if (require.main === module) boot();
