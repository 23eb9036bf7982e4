// Packs the compiled CommonJS in dist/ into one file per command, so a
// command's start-up reads and compiles one file instead of resolving,
// stat()ing, reading and wrapping 15-60 modules (src/cli/boot.ts loads them,
// with a V8 code cache). Only what tsc emitted is understood: every relative
// require with a string literal is followed and rewritten to
// `require("tsrun:<key>")`, where <key> is the module's path under dist/
// (src/state/store.js); everything else (node:*, npm packages, computed
// paths) is left to Node's own require at run time.
//
// dist/bundle/src/cli/main.js        the core: the CLI and everything it needs
// dist/bundle/src/commands/<verb>.js one per command, with the core: a command
//                                    reads and compiles one file (boot.ts
//                                    picks it from argv; a wrong pick only
//                                    costs the other file's load)
//
// A bundle file is one expression: an object from key to the module's
// function (exports, require, module, __filename, __dirname). Each module
// keeps its own __filename and __dirname under dist/src, so every path it
// computes is what it would be without the bundle.
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, posix, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { toAscii } from './ascii.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(root, 'dist');
const out = join(dist, 'bundle');

const REQUIRE = /\brequire\((['"])(\.{1,2}\/[^'"]*|\.{1,2})\1\)/g;

/** Resolves a relative require of `fromKey` the way Node would for tsc's output. */
function resolveKey(fromKey, spec) {
  const base = posix.normalize(posix.join(posix.dirname(fromKey), spec));
  for (const cand of [base, `${base}.js`, `${base}/index.js`]) {
    const file = join(dist, cand);
    if (existsSync(file) && statSync(file).isFile() && cand.endsWith('.js')) return cand;
  }
  throw new Error(`bundle: ${fromKey}: cannot resolve require('${spec}')`);
}

/** Reads a module, rewrites its relative requires; returns its source and dependencies. */
const parsed = new Map();
function parse(key) {
  let p = parsed.get(key);
  if (p) return p;
  const deps = [];
  const source = readFileSync(join(dist, key), 'utf8').replace(REQUIRE, (_m, _q, spec) => {
    const dep = resolveKey(key, spec);
    deps.push(dep);
    return `require("tsrun:${dep}")`;
  });
  p = { source, deps };
  parsed.set(key, p);
  return p;
}

function closure(entry, exclude) {
  const seen = new Set();
  const order = [];
  const visit = (key) => {
    if (seen.has(key) || exclude.has(key)) return;
    seen.add(key);
    order.push(key);
    for (const d of parse(key).deps) visit(d);
  };
  visit(entry);
  return order;
}

function emit(entry, keys) {
  const parts = keys.map((key) => {
    // Drop a trailing source-map comment: it would point at the wrong file.
    const src = parse(key).source.replace(/\n\/\/# sourceMappingURL=.*\s*$/, '\n');
    return `${JSON.stringify(key)}: function (exports, require, module, __filename, __dirname) {\n${src}\n}`;
  });
  const file = join(out, entry);
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, toAscii(`({\n${parts.join(',\n')}\n})\n`));
  return file;
}

rmSync(out, { recursive: true, force: true });
const coreEntry = 'src/cli/main.js';
const core = closure(coreEntry, new Set());
emit(coreEntry, core);
const coreSet = new Set(core);
const commands = readdirSync(join(dist, 'src/commands')).filter((f) => f.endsWith('.js'));
let total = 0;
for (const f of commands) {
  const entry = `src/commands/${f}`;
  const keys = [...core, ...closure(entry, coreSet)];
  emit(entry, keys);
  total += keys.length - core.length;
}
console.log(`bundle: core ${core.length} modules, ${commands.length} commands (${total} modules) → ${relative(root, out)}/`);
