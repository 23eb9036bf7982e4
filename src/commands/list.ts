/** `tsrun list [--format table|json] [--quiet]`. */
import * as fs from 'node:fs';
import type { CommandRun } from '../cli/types';
import { ociState } from '../state/status';
import { listContainers } from '../state/store';

/** Go's text/tabwriter as runc configures it: minwidth 12, padding 3, last cell unpadded. */
export function tabulate(rows: string[][]): string {
  const widths: number[] = [];
  for (const r of rows) r.forEach((c, i) => { if (i < r.length - 1) widths[i] = Math.max(widths[i] ?? 12, c.length + 3); });
  return rows.map((r) => r.map((c, i) => (i < r.length - 1 ? c.padEnd(widths[i]) : c)).join('') + '\n').join('');
}

export const run: CommandRun = (inv) => {
  const root = inv.globals.root;
  const states = listContainers(root).map((rec) => ociState(root, rec));
  if (inv.flags.quiet === true) {
    if (states.length) fs.writeSync(1, states.map((s) => s.id).join('\n') + '\n');
    return 0;
  }
  if (inv.flags.format === 'json') {
    fs.writeSync(1, JSON.stringify(states) + '\n');
    return 0;
  }
  const rows = [['ID', 'PID', 'STATUS', 'BUNDLE', 'CREATED', 'OWNER']];
  for (const s of states) rows.push([s.id, String(s.pid), s.status, s.bundle, s.created, s.owner]);
  fs.writeSync(1, tabulate(rows));
  return 0;
};
