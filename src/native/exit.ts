/**
 * Ends a finished command at once: the process's 'exit' listeners run (boot's
 * code-cache writer), then _exit(2) through build/Release/tsrun_exit.node
 * (addon/exit/exit.c), skipping Node's teardown of V8, its platform threads
 * and OpenSSL (~1 ms of every command). Nothing is lost by skipping it: every
 * write tsrun makes is a synchronous write(2). Without the module (not built),
 * Node's own exit.
 *
 * The same small module carries the pidfd calls of the hot paths
 * (src/native/pidfd.ts): every command loads it to end anyway.
 */
import * as path from 'node:path';

const EXIT_MODULE = path.join(__dirname, '../../../build/Release/tsrun_exit.node');

export interface SmallModule {
  exit?: (code: number) => never;
  pidfdOpen?: (pid: number) => number;
  pidfdSignal?: (fd: number, signo: number) => void;
}

let small: SmallModule | null | undefined;

/** tsrun_exit.node, loaded once (null when it is not built). */
export function smallModule(): SmallModule | null {
  if (small === undefined) {
    try {
      const mod = { exports: {} as SmallModule };
      process.dlopen(mod, EXIT_MODULE);
      small = mod.exports;
    } catch {
      small = null;
    }
  }
  return small;
}

export function exitNow(code: number): never {
  const exit = smallModule()?.exit;
  if (!exit) return process.exit(code);
  process.exitCode = code;
  process.emit('exit', code);
  return exit(code);
}
