/**
 * Runtime-agnostic conformance suite.
 *
 *   node dist/conformance/run.js [--runtime tsrun,runc,crun] [--case pattern] [--json] [--list]
 *
 * Prints a table case × runtime (pass / FAIL / absent); exits 1 if any
 * selected, present runtime fails a case. Must run as root.
 */
import { CaseResult, runCase } from './harness';
import { allCases } from './cases/index';
import { ALL_RUNTIMES, cleanupRuntime, makeRuntime, Runtime } from './runtimes';

interface Options {
  runtimes: string[];
  pattern?: RegExp;
  json: boolean;
  list: boolean;
}

function parseArgs(argv: string[]): Options {
  const o: Options = { runtimes: ALL_RUNTIMES, json: false, list: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const val = (): string => {
      const eq = a.indexOf('=');
      if (eq >= 0) return a.slice(eq + 1);
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    if (a === '--runtime' || a.startsWith('--runtime=')) o.runtimes = val().split(',').filter(Boolean);
    else if (a === '--case' || a.startsWith('--case=')) o.pattern = new RegExp(val());
    else if (a === '--json') o.json = true;
    else if (a === '--list') o.list = true;
    else if (a === '-h' || a === '--help') {
      process.stdout.write('usage: node dist/conformance/run.js [--runtime tsrun,runc,crun] [--case pattern] [--json] [--list]\n');
      process.exit(0);
    } else throw new Error(`unknown argument ${a}`);
  }
  return o;
}

function main(): number {
  let opts: Options;
  try {
    opts = parseArgs(process.argv.slice(2));
  } catch (e) {
    process.stderr.write(`conformance: ${(e as Error).message}\n`);
    return 2;
  }
  const cases = allCases.filter((c) => !opts.pattern || opts.pattern.test(c.name));
  if (opts.list) {
    for (const c of cases) process.stdout.write(`${c.name.padEnd(28)} ${c.description}\n`);
    return 0;
  }
  if (process.getuid?.() !== 0) {
    process.stderr.write('conformance: must run as root\n');
    return 2;
  }
  if (cases.length === 0) {
    process.stderr.write('conformance: no case matches\n');
    return 2;
  }
  const runtimes: Runtime[] = opts.runtimes.map(makeRuntime);
  const results: CaseResult[] = [];
  try {
    for (const c of cases) {
      for (const rt of runtimes) {
        const r = runCase(rt, c);
        results.push(r);
        if (!opts.json) {
          const mark = r.status === 'fail' ? 'FAIL' : r.status;
          process.stderr.write(`  ${c.name} [${rt.name}] ${mark} (${r.ms} ms)${r.status === 'fail' || r.status === 'skip' ? ': ' + r.message : ''}\n`);
        }
      }
    }
  } finally {
    for (const rt of runtimes) cleanupRuntime(rt);
  }
  const failed = results.filter((r) => r.status === 'fail');
  if (opts.json) {
    process.stdout.write(JSON.stringify({ runtimes: runtimes.map((r) => ({ name: r.name, absent: r.absent ?? null })), results }, null, 2) + '\n');
  } else {
    const w = Math.max(...cases.map((c) => c.name.length), 4);
    const cols = runtimes.map((r) => Math.max(r.name.length, 6));
    const row = (first: string, cells: string[]): string => `${first.padEnd(w)}  ${cells.map((c, i) => c.padEnd(cols[i])).join('  ')}`.trimEnd();
    const out: string[] = [row('case', runtimes.map((r) => r.name)), row('-'.repeat(w), cols.map((n) => '-'.repeat(n)))];
    for (const c of cases) {
      out.push(row(c.name, runtimes.map((rt) => {
        const r = results.find((x) => x.case === c.name && x.runtime === rt.name)!;
        return r.status === 'fail' ? 'FAIL' : r.status;
      })));
    }
    const totals = runtimes.map((rt) => {
      const rs = results.filter((r) => r.runtime === rt.name);
      if (rt.absent) return 'absent';
      return `${rs.filter((r) => r.status === 'pass').length}/${rs.length}`;
    });
    out.push(row('-'.repeat(w), cols.map((n) => '-'.repeat(n))));
    out.push(row('passed', totals));
    for (const rt of runtimes) if (rt.absent) out.push(`${rt.name}: absent (${rt.absent})`);
    for (const r of results) if (r.status === 'n/a' || r.status === 'skip') out.push(`${r.case} [${r.runtime}]: ${r.status} (${r.message})`);
    if (failed.length) {
      out.push('', 'failures:');
      for (const f of failed) out.push(`  ${f.case} [${f.runtime}]: ${f.message}`);
    }
    process.stdout.write(out.join('\n') + '\n');
  }
  return failed.length > 0 ? 1 : 0;
}

process.exitCode = main();
