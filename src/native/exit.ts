/**
 * Ends a finished command at once: the process's 'exit' listeners run (boot's
 * code-cache writer), then _exit(2) through build/Release/tsrun_exit.node
 * (addon/exit/exit.c), skipping Node's teardown of V8, its platform threads
 * and OpenSSL (~1 ms of every command). Nothing is lost by skipping it: every
 * write tsrun makes is a synchronous write(2). Without the module (not built),
 * Node's own exit.
 */
import * as path from 'node:path';

const EXIT_MODULE = path.join(__dirname, '../../../build/Release/tsrun_exit.node');

export function exitNow(code: number): never {
  let exit: ((code: number) => never) | undefined;
  try {
    const mod = { exports: {} as { exit?: (code: number) => never } };
    process.dlopen(mod, EXIT_MODULE);
    exit = mod.exports.exit;
  } catch {
    exit = undefined;
  }
  if (!exit) return process.exit(code);
  process.exitCode = code;
  process.emit('exit', code);
  return exit(code);
}
