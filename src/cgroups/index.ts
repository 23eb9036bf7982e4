/**
 * tsrun's cgroup library (v1, v2 and hybrid hosts; cgroupfs driver).
 *
 *   create:  const cg = prepareCgroup({ id, cgroupsPath, resources, devices, systemd, manager, rootless });
 *            rec.cgroup = cg.record; clone the init into selfJoinTargets(cg.record.paths).unifiedDir, the init
 *            writes "0" to its tasksFiles (or, in a new user namespace: cg.addProcess(initPid)); on any failure: cg.destroy()
 *   delete:  openCgroup(rec.cgroup).destroy()      (after the processes are dead: killAll(9) first)
 *   kill:    openCgroup(rec.cgroup).killAll(sig)   (no own pid namespace / --all)
 *   state:   openCgroup(rec.cgroup).isFrozen() → status "paused"
 */
export { prepareCgroup, planCgroup, makeCgroup, predictCgroupWrites, openCgroup, neededControllers, usesSystemd, type CgroupHandle, type CgroupPlan, type OpenCgroup } from './manager';
export { selfJoinTargets } from './dirs';
export type { CgroupRecord, CgroupSpec, CgroupMode, Stats, DeviceRule, BlockIO, Network } from './types';
export { detectLayout, hostLayout, layoutFromTree, type Layout } from './layout';
export { resolvePaths, cleanPath } from './paths';
export { deviceRules, DEFAULT_ALLOWED } from './devices';
export { sharesToWeight, blkioWeightToIoWeight, memorySwapToV2 } from './convert';
export { ERR_NO_SYSTEMD } from './systemd';
export { stringifyU64, traceWrites, type TracedWrite } from './fsutil';
