/**
 * Loads a CommonJS file through vm.Script with a V8 code cache made at build
 * time (scripts/code-cache.mjs), so a command does not re-parse and
 * re-compile the same code at every start. A missing or rejected cache (other
 * Node version or flags) only costs speed: the file is compiled as usual.
 * With TSRUN_WRITE_CODE_CACHE=1 the cache is (re)written when the process
 * exits, after the functions used by that run have been compiled.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vm from 'node:vm';

const WRAP_HEAD = '(function (exports, require, module, __filename, __dirname) {';
const WRAP_TAIL = '\n})';

export function loadWithCodeCache(file: string): unknown {
  // Generated files are pure ASCII (scripts/ascii.mjs): latin1 is the fast one-byte read.
  const source = fs.readFileSync(file, 'latin1');
  const cacheFile = `${file}.cache`;
  let cachedData: Buffer | undefined;
  try {
    cachedData = fs.readFileSync(cacheFile);
  } catch {
    cachedData = undefined;
  }
  const script = new vm.Script(WRAP_HEAD + source + WRAP_TAIL, { filename: file, cachedData });
  if (process.env.TSRUN_WRITE_CODE_CACHE === '1') {
    process.on('exit', () => fs.writeFileSync(cacheFile, script.createCachedData()));
  }
  const module = { exports: {} as unknown, filename: file };
  const fn = script.runInThisContext() as (e: unknown, r: NodeJS.Require, m: typeof module, f: string, d: string) => void;
  // This module's own require, not createRequire(file): loading node:module for it costs ~0.25 ms,
  // and the generated code (standalone ajv, plain functions) requires nothing relative to its file.
  fn.call(module.exports, module.exports, require, module, file, path.dirname(file));
  return module.exports;
}
