/**
 * The fixed hash seed of the hot light commands, and its guard.
 *
 * The launcher (addon/launcher/tsrun.c) runs `start`, `state`, `kill` and
 * `delete` with V8's --no-rehash-snapshot: Node then keeps the string-hash
 * seed baked into its start-up snapshot instead of drawing a per-process one
 * and rehashing the snapshot with it, which is ~2.5 ms of every Node start
 * here (a container lifecycle is four starts). Every other command keeps the
 * per-process seed: the flag also makes V8 reject Node's built-in code cache,
 * which costs the builtin-heavy create more than the seed saves.
 *
 * The price of a seed anyone with the same Node binary knows is hash
 * flooding: a document with enough keys crafted to collide makes V8's hash
 * tables quadratic. These commands parse only tsrun's own state.json, yet its
 * annotations come from config.json; so before parsing, a document is
 * measured (a string is at least two quotes), and one that could hold more
 * than FIXED_SEED_MAX_STRINGS strings makes the process re-execute itself
 * without the flag (same pid, argv, environment and fds) before anything was
 * changed, and parse it with a per-process seed like any other command (a
 * container lock the old image held is taken over by the new one: same pid and
 * start time, src/state/lock.ts).
 */
import { addonWith } from '../native/addon';
import { getLogger } from '../log/logger';
import { TsrunError } from '../errors';

export const FIXED_SEED_FLAG = '--no-rehash-snapshot';

/** Below this many strings, even all-colliding keys cost only milliseconds. */
export const FIXED_SEED_MAX_STRINGS = 4096;

/** Whether this process runs with the snapshot's fixed hash seed. */
export function hasFixedHashSeed(execArgv: readonly string[] = process.execArgv): boolean {
  return execArgv.includes(FIXED_SEED_FLAG);
}

/** Upper bound of the strings a JSON text can hold: half its double quotes. */
export function maxJsonStrings(text: string): number {
  let quotes = 0;
  for (let i = text.indexOf('"'); i !== -1; i = text.indexOf('"', i + 1)) quotes++;
  return quotes >> 1;
}

/** The argv that runs this same command again without the fixed seed. */
export function reexecArgv(execPath: string, execArgv: readonly string[], argv: readonly string[]): string[] {
  return [execPath, ...execArgv.filter((a) => a !== FIXED_SEED_FLAG), ...argv.slice(1)];
}

/**
 * Call before parsing `text` (read from `file`) in a command that changed
 * nothing yet: returns when parsing is safe, else re-executes and does not return.
 */
export function guardJsonParse(text: string, file: string): void {
  if (!hasFixedHashSeed()) return;
  const strings = maxJsonStrings(text);
  if (strings <= FIXED_SEED_MAX_STRINGS) return;
  getLogger().debug('re-executing with a per-process hash seed', { file, strings });
  const { execve } = addonWith<{ execve(path: string, argv: string[], env: string[]): never }>('re-exec', ['execve']);
  const env = Object.entries(process.env).map(([k, v]) => `${k}=${v ?? ''}`);
  try {
    execve(process.execPath, reexecArgv(process.execPath, process.execArgv, process.argv), env);
  } catch (e) {
    throw new TsrunError(`re-execute with a per-process hash seed: ${(e as Error).message}`, { syscall: 'execve', errno: (e as { errno?: number }).errno });
  }
}
