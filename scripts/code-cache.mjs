// Makes the V8 code cache that src/util/code-cache.ts loads for the generated
// schema validators (~270 KB: compiling them costs create ~7 ms): runs a
// create that validates a config with TSRUN_WRITE_CODE_CACHE=1, so the
// functions it compiled are in the cache. Caches are tied to this Node binary: a machine
// with another Node still works, just without the speed-up.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const tmp = mkdtempSync(join(tmpdir(), 'tsrun-cache-'));
const env = { ...process.env, TSRUN_WRITE_CODE_CACHE: '1' };
delete env.NODE_OPTIONS;
const run = (args) => {
  try {
    execFileSync(join(root, 'bin/tsrun'), args, { env, stdio: 'ignore' });
  } catch {
    /* the workload fails on purpose (no rootfs): only the compiled code matters */
  }
};
try {
  // create validates config.json before it fails on the missing rootfs.
  const bundle = join(tmp, 'bundle');
  mkdirSync(bundle);
  const spec = execFileSync(process.execPath, ['-e', `process.stdout.write(JSON.stringify(require(${JSON.stringify(join(root, 'dist/src/spec/default.js'))}).defaultSpec({args:['true'],terminal:false})))`]);
  writeFileSync(join(bundle, 'config.json'), spec);
  run(['--root', join(tmp, 'state'), 'create', '--bundle', bundle, 'cache-warmup']);
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
