/**
 * `tsrun validate [--bundle DIR] [--format text|json]`: every problem of the
 * bundle's config.json at once — schema, semantic and host — each with its
 * JSON pointer and runtime-spec section. Exit 0 when create would accept the
 * config (warnings allowed), 1 otherwise. Creates nothing.
 */
import type { CommandRun } from '../cli/types';
import { diagnoseBundle, formatDiagnosis } from '../config/diagnose';
import { writeFd } from '../log/logger';

export const run: CommandRun = (inv) => {
  const bundle = typeof inv.flags.bundle === 'string' && inv.flags.bundle !== '' ? inv.flags.bundle : '.';
  const d = diagnoseBundle(bundle);
  const valid = !d.findings.some((f) => f.level === 'error');
  if (inv.flags.format === 'json') writeFd(1, JSON.stringify({ config: d.configPath, valid, findings: d.findings }, null, 2) + '\n');
  else writeFd(1, formatDiagnosis(d));
  return valid ? 0 : 1;
};
