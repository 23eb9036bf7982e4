/**
 * `tsrun events [--stats] [--interval 5s] <id>`: runc's event stream, one
 * JSON object a line: {"type":"stats","id":...,"data":{cpu,cpuset,memory,pids,blkio,hugetlb,...}}
 * every interval, {"type":"oom","id":...} when the OOM-kill counter grows
 * (polled from memory.oom_control / memory.events: eventfd notification needs
 * native code). Ends when the container stops.
 */
import * as fs from 'node:fs';
import type { CommandRun } from '../cli/types';
import { loadContainerCgroup, requireCgroup } from '../cgroups/container';
import { stringifyU64 } from '../cgroups/fsutil';
import { TsrunError } from '../errors';
import { containerStatus } from '../state/status';

/** Go's time.ParseDuration for the units runc users write: "5s", "100ms", "1m30s", "1h", "2.5s". */
export function parseDuration(s: string): number {
  const re = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/gy;
  const unit: Record<string, number> = { ns: 1e-6, us: 1e-3, 'µs': 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  let ms = 0;
  let m: RegExpExecArray | null;
  let end = 0;
  while ((m = re.exec(s))) {
    ms += Number(m[1]) * unit[m[2]];
    end = re.lastIndex;
  }
  if (!s || end !== s.length) throw new TsrunError(`invalid --interval ${JSON.stringify(s)}: want a duration like 5s or 500ms`);
  if (ms <= 0) throw new TsrunError('duration interval must be greater than 0');
  return ms;
}

const emit = (o: unknown): void => {
  fs.writeSync(1, stringifyU64(o) + '\n');
};

export const run: CommandRun = async (inv) => {
  const root = inv.globals.root;
  const id = inv.positionals[0];
  const interval = parseDuration(String(inv.flags.interval ?? '5s'));
  const c = loadContainerCgroup(root, id);
  if (c.status === 'stopped') throw new TsrunError(`container with id ${id} is not running`);
  requireCgroup(c, 'get events of');
  if (inv.flags.stats === true) {
    emit({ type: 'stats', id, data: c.cg.stats() });
    return 0;
  }
  const poll = Math.min(interval, 200);
  let lastOom = c.cg.oomKillCount() ?? 0;
  let nextStats = Date.now();
  for (;;) {
    // An OOM kill that stopped the container is still reported: the counter is read after the status.
    const stopped = containerStatus(root, c.rec) === 'stopped';
    const oom = c.cg.oomKillCount();
    if (oom !== undefined && oom > lastOom) {
      emit({ type: 'oom', id });
      lastOom = oom;
    }
    if (stopped) return 0;
    if (Date.now() >= nextStats) {
      try {
        emit({ type: 'stats', id, data: c.cg.stats() });
      } catch (e) {
        emit({ type: 'error', id, data: (e as Error).message });
      }
      nextStats += interval;
    }
    await new Promise((res) => setTimeout(res, poll));
  }
};
