/**
 * tsrun's entry point (bin/tsrun requires this file, which runs on load).
 *
 * Hot path: parse argv with the hand-written parser, configure the logger
 * (pino is loaded only if a JSON line is actually written), require only the
 * one command module, run it. yargs is loaded only to render help.
 *
 * Output discipline: everything is written with fs.writeSync(1|2, ...).
 * process.stdout/stderr are never touched: creating those streams can put
 * stdio that is shared with the container into O_NONBLOCK.
 *
 * Errors: one line, to the log (JSON or text) and, when the log is a file, to
 * stderr as the bare message (runc's fatal()). Exit status 1, or the
 * TsrunError's context.exitCode.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { TsrunError } from '../errors';
import { configureLogger, getLogger, writeFd, type Level } from '../log/logger';
import { exitNow } from '../native/exit';
import { parseArgv, UsageError, type ParseResult } from './argv';
import type { CommandRun, Globals } from './types';
import { COMMANDS, GLOBAL_FLAGS, type FlagDef } from './table';

export const VERSION = '0.1.0';

/**
 * `tsrun version 0.1.0\nspec: 1.3.0\n`. go-runc's Version() only fills its
 * fields when the output starts with "runc version "; tsrun deliberately does
 * not pretend to be runc, so callers see an empty runc version.
 */
export function versionText(): string {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { SPEC_VERSION } = require('../spec/default') as typeof import('../spec/default');
  return `tsrun version ${VERSION}\nspec: ${SPEC_VERSION}\n`;
}

function levelOf(g: Partial<Globals>): Level {
  if (g.debug) return 'debug';
  return g.logLevel ?? 'info';
}

function setupLogger(g: Partial<Globals>): void {
  configureLogger({ file: g.log, format: g.logFormat ?? 'text', level: levelOf(g) });
}

/** Renders help with yargs, built from the same table (loaded only here). */
function renderHelp(command?: string): number {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const yargsFactory = require('yargs/yargs') as typeof import('yargs/yargs');
  const opt = (f: FlagDef): Record<string, unknown> => {
    const o: Record<string, unknown> = { describe: f.describe, hidden: f.hidden };
    if (f.alias) o.alias = [...f.alias];
    if (f.choices) o.choices = [...f.choices];
    if (f.default !== undefined) o.default = typeof f.default === 'function' ? f.default() : f.default;
    if (f.type === 'string[]') {
      o.type = 'array';
      o.string = true;
    } else o.type = f.type;
    return o;
  };
  let y = yargsFactory([])
    .scriptName('tsrun')
    .usage('tsrun [global options] <command> [command options] [arguments...]\n\nAn OCI runtime (runtime-spec 1.3.0), command-line compatible with runc.')
    .version(false)
    .help('help')
    .alias('help', 'h')
    .exitProcess(false)
    .strict(false)
    .wrap(100);
  const globalNames: string[] = [];
  for (const f of GLOBAL_FLAGS) {
    if (f.name === 'help') continue;
    y = y.option(f.name, opt(f) as never);
    globalNames.push(f.name);
  }
  y = y.group(globalNames, 'Global options (before the command):');
  for (const c of COMMANDS) {
    const pos = c.positionals
      .map((p) => (p.optional ? `[${p.name}${p.variadic ? '..' : ''}]` : `<${p.name}${p.variadic ? '..' : ''}>`))
      .join(' ');
    y = y.command(`${c.name}${pos ? ' ' + pos : ''}`, c.describe, (yy) => {
      for (const p of c.positionals) yy.positional(p.name, { describe: p.describe, type: 'string' });
      for (const f of c.flags) yy.option(f.name, opt(f) as never);
      return yy;
    });
  }
  let text = '';
  y.parse(command ? [command, '--help'] : ['--help'], {}, (_err: unknown, _argv: unknown, output: string) => {
    text = output;
  });
  writeFd(1, text.endsWith('\n') ? text : text + '\n');
  return 0;
}

/** Loads src/commands/<name>.js lazily; a missing module is a clear error, never a silent success. */
function loadCommand(name: string): CommandRun {
  const file = path.join(__dirname, '..', 'commands', `${name}.js`);
  let mod: { run?: CommandRun };
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    mod = require(file) as { run?: CommandRun };
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'MODULE_NOT_FOUND' && !fs.existsSync(file)) {
      throw new TsrunError(`command "${name}" is not implemented in this build of tsrun`);
    }
    throw e;
  }
  if (typeof mod.run !== 'function') throw new TsrunError(`command "${name}": module does not export run()`);
  return mod.run;
}

function exitCodeOf(e: unknown): number {
  const code = e instanceof TsrunError ? e.context.exitCode : undefined;
  return typeof code === 'number' && code > 0 && code < 256 ? code : 1;
}

function reportError(e: unknown): number {
  const log = getLogger();
  const msg = e instanceof Error ? e.message : String(e);
  log.error(msg.replace(/\s*\n\s*/g, ' ').trim() || 'unknown error');
  if (!(e instanceof TsrunError) && e instanceof Error && e.stack) log.debug(e.stack);
  return exitCodeOf(e);
}

export async function main(argv: readonly string[]): Promise<number> {
  let parsed: ParseResult;
  try {
    parsed = parseArgv(argv);
  } catch (e) {
    setupLogger(e instanceof UsageError ? e.globals : {});
    return reportError(e);
  }
  const globals = parsed.kind === 'command' ? parsed.invocation.globals : parsed.globals;
  setupLogger(globals);
  try {
    switch (parsed.kind) {
      case 'version':
        writeFd(1, versionText());
        return 0;
      case 'help':
        return renderHelp(parsed.command);
      case 'command': {
        const run = loadCommand(parsed.def.module ?? parsed.def.name);
        const code = await run(parsed.invocation);
        return typeof code === 'number' ? code : 0;
      }
    }
  } catch (e) {
    return reportError(e);
  }
}

function finish(code: number): void {
  // A command has returned and every write was synchronous (fs.writeSync, pino's
  // sync destination): exit now, so nothing it left behind (a socket, a timer, a
  // child handle) keeps tsrun alive, and no time goes to tearing down the loop or V8.
  exitNow(code);
}

main(process.argv.slice(2)).then(finish, (e) => finish(reportError(e)));
