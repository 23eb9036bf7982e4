/**
 * idmap/ridmap bind mounts of a container with its own user namespace (runc
 * 1.2's way): MOUNT_ATTR_IDMAP can only be set from the host's user
 * namespace, so the parent clones each source (open_tree), idmaps the clone
 * with the container's user namespace (or, for a mount's own differing
 * uidMappings/gidMappings, a temporary one the addon makes with exactly
 * those, as runc 1.2) and sends the fd to the init helper
 * (MSG_MOUNT_FD, SCM_RIGHTS), which attaches it at its OP_MOUNT_TREE_FD
 * (addon/common/plan_wire.h). Call after spawnInit (the maps are written)
 * and right after sendPlan: the parent only writes, the helper reads one fd
 * per op, in plan order.
 */
import * as fs from 'node:fs';
import { TsrunError } from '../errors';
import { addonWith } from '../native/addon';
import { Msg, Op, type PlanStep } from '../plan/ops';

interface MountFdAddon {
  idmapTree(source: string, cloneRecursive: boolean, idmapRecursive: boolean, usernsPath: string, uidMap?: string, gidMap?: string): number;
  sendFd(socketFd: number, type: number, fd: number): void;
}

function toTsrunError(e: unknown): TsrunError {
  if (e instanceof TsrunError) return e;
  const err = e as Error & { errno?: unknown; syscall?: unknown };
  return new TsrunError(err instanceof Error ? err.message : String(e), {
    ...(typeof err?.errno === 'number' ? { errno: err.errno } : {}),
    ...(typeof err?.syscall === 'string' ? { syscall: err.syscall } : {}),
  });
}

/**
 * Prepares and sends one idmapped tree per OP_MOUNT_TREE_FD step. A failed
 * send kills the helper and returns the error: the caller still reads the
 * socket (a helper that died first said why in its MSG_ERROR) and reports
 * this error otherwise.
 */
export function sendMountFds(steps: readonly PlanStep[], syncFd: number, initPid: number): TsrunError | undefined {
  const wanted = steps.filter((s) => s.op === Op.MountTreeFd);
  if (wanted.length === 0) return undefined;
  const a = addonWith<MountFdAddon>('idmap mount', ['idmapTree', 'sendFd']);
  for (const s of wanted) {
    const [dest, , source, tree, rec, userns, uidMap = '', gidMap = ''] = s.fields.map(String);
    let fd: number;
    try {
      // The mount's own mappings (differing from the container's): a temporary user namespace with exactly those.
      fd = a.idmapTree(source, tree === '1', rec === '1', userns || `/proc/${initPid}/ns/user`, uidMap, gidMap);
    } catch (e) {
      // Nothing of the container ran yet; the caller kills the init and rolls back.
      const err = toTsrunError(e);
      throw new TsrunError(`idmap mount ${source} on ${dest}: ${err.message}`, err.context);
    }
    try {
      a.sendFd(syncFd, Msg.MountFd, fd);
    } catch (e) {
      // The helper waits for this fd and would wait forever: kill it (its socket
      // then reads EOF after any MSG_ERROR it sent, which awaitReady prefers).
      try {
        process.kill(initPid, 'SIGKILL');
      } catch {
        /* already gone */
      }
      return toTsrunError(e);
    } finally {
      fs.closeSync(fd);
    }
  }
  return undefined;
}
