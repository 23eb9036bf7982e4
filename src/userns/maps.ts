/**
 * linux.uidMappings/gidMappings → what the addon needs to set up a new user
 * namespace (src/native/addon.ts spawnInit: uidMap, gidMap, setgroupsDeny,
 * uidMapHelper, gidMapHelper).
 *
 * As root the addon writes /proc/<pid>/{uid,gid}_map itself. An unprivileged
 * caller may only write one line mapping its own euid/egid, and only after
 * "deny" went to /proc/<pid>/setgroups (user_namespaces(7)); anything wider
 * (a range from /etc/subuid, as rootless podman does) goes through the
 * setuid newuidmap/newgidmap of Debian's uidmap package, which check
 * /etc/subuid and /etc/subgid. That is what runc's nsexec and crun do too.
 */
import * as fs from 'node:fs';
import { TsrunError } from '../errors';
import type { IDMapping } from '../config/types';

export interface UsernsSetup {
  uidMap: string;
  gidMap: string;
  setgroupsDeny: boolean;
  uidMapHelper?: string;
  gidMapHelper?: string;
}

export const NEWUIDMAP_CANDIDATES = ['/usr/bin/newuidmap', '/bin/newuidmap', '/usr/sbin/newuidmap'];
export const NEWGIDMAP_CANDIDATES = ['/usr/bin/newgidmap', '/bin/newgidmap', '/usr/sbin/newgidmap'];

export function mapLines(maps: readonly IDMapping[]): string {
  return maps.map((m) => `${m.containerID} ${m.hostID} ${m.size}\n`).join('');
}

/** Is `maps` exactly one id, the caller's own (the only map an unprivileged writer may write)? */
function onlySelf(maps: readonly IDMapping[], self: number): boolean {
  return maps.length === 1 && maps[0].hostID === self && maps[0].size === 1;
}

function findHelper(candidates: string[]): string | undefined {
  return candidates.find((p) => {
    try {
      fs.accessSync(p, fs.constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

export interface Identity {
  euid: number;
  egid: number;
}

export function currentIdentity(): Identity {
  return { euid: process.geteuid?.() ?? 0, egid: process.getegid?.() ?? 0 };
}

/**
 * The addon's user-namespace fields for a config with a new user namespace.
 * `find` is injectable for tests.
 */
export function usernsSetup(
  uidMappings: readonly IDMapping[] | undefined,
  gidMappings: readonly IDMapping[] | undefined,
  who: Identity = currentIdentity(),
  find: (candidates: string[]) => string | undefined = findHelper,
): UsernsSetup {
  const uids = uidMappings ?? [];
  const gids = gidMappings ?? [];
  const out: UsernsSetup = { uidMap: mapLines(uids), gidMap: mapLines(gids), setgroupsDeny: false };
  if (who.euid === 0) return out;
  if (!onlySelf(uids, who.euid)) {
    out.uidMapHelper = find(NEWUIDMAP_CANDIDATES);
    if (!out.uidMapHelper) {
      throw new TsrunError(
        `linux.uidMappings: an unprivileged user can only map its own uid ${who.euid} (size 1) without newuidmap; install the uidmap package and give the user a range in /etc/subuid`,
      );
    }
  }
  if (!onlySelf(gids, who.egid)) {
    out.gidMapHelper = find(NEWGIDMAP_CANDIDATES);
    if (!out.gidMapHelper) {
      throw new TsrunError(
        `linux.gidMappings: an unprivileged user can only map its own gid ${who.egid} (size 1) without newgidmap; install the uidmap package and give the user a range in /etc/subgid`,
      );
    }
  } else {
    // Writing gid_map ourselves: the kernel wants setgroups denied first.
    out.setgroupsDeny = true;
  }
  return out;
}

/** The host id that a user namespace's id 0 maps to (else the first mapping's host id). */
export function hostIdOfRoot(maps: readonly IDMapping[] | undefined): number | undefined {
  const m = (maps ?? []).find((x) => x.containerID === 0 && x.size > 0) ?? maps?.[0];
  return m ? m.hostID : undefined;
}

/**
 * The helper opens the exec (and status) fifo by host path from inside the
 * container's user namespace, where the root-owned 0700 state directories are
 * closed to it. As root: make the directories on the way traversable (0711:
 * no listing; state.json stays 0600) and give the fifos to the container's
 * root. An unprivileged caller owns everything and is the container's root.
 */
export function exposeFifosToUserns(root: string, dir: string, fifos: string[], uidMappings?: IDMapping[], gidMappings?: IDMapping[]): void {
  if ((process.geteuid?.() ?? 0) !== 0) return;
  const uid = hostIdOfRoot(uidMappings);
  const gid = hostIdOfRoot(gidMappings);
  if (uid === undefined || gid === undefined || uid === 0) return;
  for (const d of [root, dir]) {
    const st = fs.statSync(d);
    if ((st.mode & 0o111) !== 0o111) fs.chmodSync(d, (st.mode & 0o7777) | 0o111);
  }
  for (const f of fifos) fs.chownSync(f, uid, gid);
}

/**
 * The maps of a user namespace joined by path, when the path names a process
 * (/proc/<pid>/ns/user: its uid_map and gid_map); undefined otherwise (an
 * nsfs bind mount has no readable maps).
 */
export function joinedUsernsMaps(nsPath: string): { uid: IDMapping[]; gid: IDMapping[] } | undefined {
  const m = /^\/proc\/(\d+)\/ns\/user$/.exec(nsPath);
  if (!m) return undefined;
  const read = (file: string): IDMapping[] =>
    fs.readFileSync(`/proc/${m[1]}/${file}`, 'utf8').trim().split('\n').filter(Boolean).map((l) => {
      const [containerID, hostID, size] = l.trim().split(/\s+/).map(Number);
      return { containerID, hostID, size };
    });
  try {
    return { uid: read('uid_map'), gid: read('gid_map') };
  } catch {
    return undefined;
  }
}
