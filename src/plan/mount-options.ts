/** OCI mount options → mount(2) flags, propagation and data (config.md "Linux mount options"). */

export const MS = {
  RDONLY: 0x1,
  NOSUID: 0x2,
  NODEV: 0x4,
  NOEXEC: 0x8,
  SYNCHRONOUS: 0x10,
  REMOUNT: 0x20,
  MANDLOCK: 0x40,
  DIRSYNC: 0x80,
  NOSYMFOLLOW: 0x100,
  NOATIME: 0x400,
  NODIRATIME: 0x800,
  BIND: 0x1000,
  MOVE: 0x2000,
  REC: 0x4000,
  UNBINDABLE: 0x20000,
  PRIVATE: 0x40000,
  SLAVE: 0x80000,
  SHARED: 0x100000,
  RELATIME: 0x200000,
  STRICTATIME: 0x1000000,
} as const;

/** option → [clear?, flag] */
const FLAG_OPTIONS: Record<string, [boolean, number]> = {
  async: [true, MS.SYNCHRONOUS],
  atime: [true, MS.NOATIME],
  bind: [false, MS.BIND],
  defaults: [false, 0],
  dev: [true, MS.NODEV],
  diratime: [true, MS.NODIRATIME],
  dirsync: [false, MS.DIRSYNC],
  exec: [true, MS.NOEXEC],
  mand: [false, MS.MANDLOCK],
  noatime: [false, MS.NOATIME],
  nodev: [false, MS.NODEV],
  nodiratime: [false, MS.NODIRATIME],
  noexec: [false, MS.NOEXEC],
  nomand: [true, MS.MANDLOCK],
  norelatime: [true, MS.RELATIME],
  nostrictatime: [true, MS.STRICTATIME],
  nosuid: [false, MS.NOSUID],
  nosymfollow: [false, MS.NOSYMFOLLOW],
  rbind: [false, MS.BIND | MS.REC],
  relatime: [false, MS.RELATIME],
  remount: [false, MS.REMOUNT],
  ro: [false, MS.RDONLY],
  rw: [true, MS.RDONLY],
  strictatime: [false, MS.STRICTATIME],
  suid: [true, MS.NOSUID],
  sync: [false, MS.SYNCHRONOUS],
};

export const PROPAGATION_OPTIONS: Record<string, number> = {
  private: MS.PRIVATE,
  rprivate: MS.PRIVATE | MS.REC,
  shared: MS.SHARED,
  rshared: MS.SHARED | MS.REC,
  slave: MS.SLAVE,
  rslave: MS.SLAVE | MS.REC,
  unbindable: MS.UNBINDABLE,
  runbindable: MS.UNBINDABLE | MS.REC,
};

/** MOUNT_ATTR_* (linux/mount.h) for mount_setattr(2). */
export const MOUNT_ATTR = {
  RDONLY: 0x1,
  NOSUID: 0x2,
  NODEV: 0x4,
  NOEXEC: 0x8,
  _ATIME: 0x70,
  RELATIME: 0x0,
  NOATIME: 0x10,
  STRICTATIME: 0x20,
  NODIRATIME: 0x80,
  IDMAP: 0x100000,
  NOSYMFOLLOW: 0x200000,
} as const;

/**
 * The recursive options (applied with mount_setattr(AT_RECURSIVE)): option →
 * [attr_set, attr_clr]. The kernel takes atime changes only as "clear the
 * whole _ATIME field, set one mode", so clearing forms fall back to relatime.
 */
const RECURSIVE_OPTIONS: Record<string, [number, number]> = {
  rro: [MOUNT_ATTR.RDONLY, 0],
  rrw: [0, MOUNT_ATTR.RDONLY],
  rnosuid: [MOUNT_ATTR.NOSUID, 0],
  rsuid: [0, MOUNT_ATTR.NOSUID],
  rnodev: [MOUNT_ATTR.NODEV, 0],
  rdev: [0, MOUNT_ATTR.NODEV],
  rnoexec: [MOUNT_ATTR.NOEXEC, 0],
  rexec: [0, MOUNT_ATTR.NOEXEC],
  rnodiratime: [MOUNT_ATTR.NODIRATIME, 0],
  rdiratime: [0, MOUNT_ATTR.NODIRATIME],
  rrelatime: [MOUNT_ATTR.RELATIME, MOUNT_ATTR._ATIME],
  rnorelatime: [MOUNT_ATTR.RELATIME, MOUNT_ATTR._ATIME],
  rnoatime: [MOUNT_ATTR.NOATIME, MOUNT_ATTR._ATIME],
  ratime: [MOUNT_ATTR.RELATIME, MOUNT_ATTR._ATIME],
  rstrictatime: [MOUNT_ATTR.STRICTATIME, MOUNT_ATTR._ATIME],
  rnostrictatime: [MOUNT_ATTR.RELATIME, MOUNT_ATTR._ATIME],
  rnosymfollow: [MOUNT_ATTR.NOSYMFOLLOW, 0],
  rsymfollow: [0, MOUNT_ATTR.NOSYMFOLLOW],
};

/** mount(2) flags → MOUNT_ATTR bits (for idmapped mounts, which never go through mount(2)). */
export function flagsToAttr(flags: number): { set: number; clr: number } {
  let set = 0;
  let clr = 0;
  if (flags & MS.RDONLY) set |= MOUNT_ATTR.RDONLY;
  if (flags & MS.NOSUID) set |= MOUNT_ATTR.NOSUID;
  if (flags & MS.NODEV) set |= MOUNT_ATTR.NODEV;
  if (flags & MS.NOEXEC) set |= MOUNT_ATTR.NOEXEC;
  if (flags & MS.NODIRATIME) set |= MOUNT_ATTR.NODIRATIME;
  if (flags & MS.NOSYMFOLLOW) set |= MOUNT_ATTR.NOSYMFOLLOW;
  const atime = flags & MS.NOATIME ? MOUNT_ATTR.NOATIME : flags & MS.STRICTATIME ? MOUNT_ATTR.STRICTATIME : flags & MS.RELATIME ? MOUNT_ATTR.RELATIME : -1;
  if (atime >= 0) {
    set |= atime;
    clr |= MOUNT_ATTR._ATIME;
  }
  return { set, clr };
}

export interface ParsedMountOptions {
  flags: number;
  propagation: number[];
  data: string;
  /** Recursive r* options: MOUNT_ATTR bits to set / clear with mount_setattr(AT_RECURSIVE). */
  attrSet: number;
  attrClr: number;
  /** "idmap" / "ridmap" (MOUNT_ATTR_IDMAP, recursively for ridmap), or none. */
  idmap?: 'idmap' | 'ridmap';
  /** crun's "tmpcopyup": a tmpfs starts with a copy of the directory it covers (podman --read-only). */
  copyUp: boolean;
}

export function parseMountOptions(options: readonly string[] | undefined, where: string): ParsedMountOptions {
  let flags = 0;
  const propagation: number[] = [];
  const data: string[] = [];
  let attrSet = 0;
  let attrClr = 0;
  let idmap: ParsedMountOptions['idmap'];
  let copyUp = false;
  for (const opt of options ?? []) {
    const f = FLAG_OPTIONS[opt];
    if (f) {
      flags = f[0] ? flags & ~f[1] : flags | f[1];
    } else if (opt in PROPAGATION_OPTIONS) {
      propagation.push(PROPAGATION_OPTIONS[opt]);
    } else if (opt in RECURSIVE_OPTIONS) {
      const [set, clr] = RECURSIVE_OPTIONS[opt];
      if (clr & MOUNT_ATTR._ATIME) attrSet &= ~MOUNT_ATTR._ATIME; // the last atime option wins
      attrSet = (attrSet & ~clr) | set;
      attrClr = (attrClr & ~set) | clr;
    } else if (opt === 'idmap' || opt === 'ridmap') {
      idmap = opt;
    } else if (opt === 'tmpcopyup') {
      copyUp = true;
    } else {
      // The spec: unknown options are passed to mount(2) as data.
      data.push(opt);
    }
  }
  return { flags, propagation, data: data.join(','), attrSet, attrClr, idmap, copyUp };
}
