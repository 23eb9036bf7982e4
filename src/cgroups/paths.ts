/**
 * linux.cgroupsPath → one directory per hierarchy, as runc's cgroupfs driver:
 *  - absolute ("/a/b"): from the root of each hierarchy (as mounted);
 *  - relative ("a/b"): under the runtime's own cgroup (/proc/self/cgroup) in
 *    each v1 hierarchy; on cgroup2 under the PARENT of the own cgroup (the own
 *    one has processes in it, so controllers could not be enabled below it);
 *  - absent: the container id as a relative path. This is runc 1.1's default
 *    (checked: runc 1.1.5 puts container "x" at memory:/<own>/x and 0::/x),
 *    chosen for drop-in compatibility over a fixed "/tsrun/<id>".
 * Paths are cleaned lexically first ("../" can't escape a hierarchy).
 */
import * as path from 'node:path';
import type { Layout } from './layout';

/** runc's utils.CleanPath: lexical clean; a relative path is cleaned as if rooted, then made relative again. */
export function cleanPath(p: string): string {
  if (p === '') return '';
  const clean = path.posix.normalize(p);
  if (path.posix.isAbsolute(clean)) return path.posix.normalize(clean);
  const rooted = path.posix.normalize('/' + clean);
  return path.posix.relative('/', rooted);
}

/** The part of the hierarchy path `own` visible below a mount whose root is `root`. */
function belowRoot(own: string, root: string): string {
  if (root === '/' || root === '') return own;
  if (own === root) return '/';
  if (own.startsWith(root + '/')) return own.slice(root.length);
  return '/'; // outside the mount (e.g. another cgroup namespace): use the mount's top
}

export function innerPath(cgroupsPath: string | undefined, id: string): string {
  const inner = cleanPath(cgroupsPath ?? '');
  return inner === '' || inner === '.' ? id : inner;
}

/**
 * Directory per hierarchy key: v1 controllers by name ("cpu", "cpuacct",
 * "name=systemd"...), "" for the unified hierarchy (v2, and hybrid).
 */
export function resolvePaths(layout: Layout, cgroupsPath: string | undefined, id: string): Record<string, string> {
  const inner = innerPath(cgroupsPath, id);
  const abs = path.posix.isAbsolute(inner);
  const out: Record<string, string> = {};
  for (const h of layout.v1) {
    for (const c of h.controllers) {
      if (abs) out[c] = path.posix.join(h.mountPoint, inner);
      else out[c] = path.posix.join(h.mountPoint, belowRoot(layout.own.get(c) ?? '/', h.root), inner);
    }
  }
  if (layout.unified) {
    const u = layout.unified;
    if (abs) out[''] = path.posix.join(u.mountPoint, inner);
    else out[''] = path.posix.join(u.mountPoint, path.posix.dirname(belowRoot(layout.own.get('') ?? '/', u.root)), inner);
  }
  return out;
}
