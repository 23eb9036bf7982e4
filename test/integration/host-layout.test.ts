/**
 * The clients' private mount namespace (test/helpers/clients.ts
 * PrivateMountNs) leaves the host's cgroup layout as found: a cgroup v1
 * hierarchy mounted inside it — what moved hugetlb off cgroup2 half-way
 * through a run — is emptied and unmounted by close(), and the controller
 * is back where it was. Root only; needs a controller that is on cgroup2 and
 * not in use there, so it can be bound to a v1 hierarchy for a moment.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { PrivateMountNs, waitFor } from '../helpers/clients';
import { host, hostTest, need, needAll, needs, parseProcCgroups } from '../helpers/host';

const hierarchyOf = (c: string): number | undefined => parseProcCgroups(fs.readFileSync('/proc/cgroups', 'utf8'))[c]?.hierarchy;

/** A controller on cgroup2 (hierarchy 0) that the cgroup2 root does not enable: free to bind to a v1 hierarchy. The ones no test uses first. */
function movable(): string | undefined {
  const u = host().cgroup.unified;
  if (!u) return undefined;
  const k = host().cgroup.kernel;
  return ['net_prio', 'net_cls', 'perf_event', 'hugetlb'].find((c) => k[c]?.enabled && k[c].hierarchy === 0 && !u.subtreeControl.includes(c));
}

hostTest(
  test,
  'a cgroup v1 hierarchy mounted in a client\'s private mount namespace is undone by close(): the controller is back on cgroup2',
  () => needAll(needs.root(), need(host().cgroup.unified, 'no cgroup2 mount'), need(movable(), 'no controller on cgroup2 that is free to move (all in use or on v1)')),
  () => {
    const ctrl = movable()!;
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsrun-hostlayout-'));
    const ns = new PrivateMountNs(dir);
    try {
      const mp = path.join(dir, 'mnt');
      fs.mkdirSync(mp);
      const m = spawnSync('nsenter', ['-t', String(ns.pid), '-m', '--', 'mount', '-t', 'cgroup', '-o', ctrl, 'cgroup', mp], { encoding: 'utf8' });
      assert.is(m.status, 0, `mount -o ${ctrl}: ${m.stderr}`);
      assert.ok((hierarchyOf(ctrl) ?? 0) > 0, `${ctrl} bound to a v1 hierarchy while mounted`);
      // Not visible on the host side, but it binds the controller for everyone: the reason close() must undo it.
      assert.not.ok(fs.readFileSync('/proc/self/mountinfo', 'utf8').includes(mp), 'the mount stays in the namespace');
      fs.mkdirSync(path.join(`/proc/${ns.pid}/root${mp}`, 'child', 'grandchild'), { recursive: true });
      assert.equal(ns.extraCgroupMounts().map((x) => x.controllers), [ctrl]);
      const undone = ns.close();
      assert.equal(undone, [`${ctrl} at ${mp}`]);
      assert.ok(waitFor(() => hierarchyOf(ctrl) === 0, 5_000, 20), `${ctrl} back on cgroup2 (hierarchy ${hierarchyOf(ctrl)})`);
    } finally {
      ns.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  },
);

test.run();
