/**
 * Builds an OCI bundle from the host's static busybox, with no download:
 * used by the demo, the tests, the conformance suite and the benchmark.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { defaultSpec } from '../spec/default';

export const BUSYBOX_CANDIDATES = ['/bin/busybox', '/usr/bin/busybox'];

export function findStaticBusybox(): string {
  for (const p of BUSYBOX_CANDIDATES) {
    if (fs.existsSync(p)) return p;
  }
  throw new Error('static busybox not found (install Debian package busybox-static)');
}

/** Creates rootfs/ with busybox, its applet links, and the usual empty directories. */
export function makeRootfs(rootfs: string): void {
  const bb = findStaticBusybox();
  for (const d of ['bin', 'sbin', 'usr/bin', 'usr/sbin', 'dev', 'proc', 'sys', 'tmp', 'etc', 'root', 'var', 'run', 'home']) {
    fs.mkdirSync(path.join(rootfs, d), { recursive: true, mode: 0o755 });
  }
  fs.chmodSync(path.join(rootfs, 'tmp'), 0o1777);
  fs.copyFileSync(bb, path.join(rootfs, 'bin/busybox'));
  fs.chmodSync(path.join(rootfs, 'bin/busybox'), 0o755);
  for (const applet of ['sh', 'ls', 'cat', 'echo', 'true', 'false', 'sleep', 'id', 'hostname', 'ps', 'grep', 'mount', 'env', 'test', 'touch', 'stat', 'readlink', 'wc', 'kill', 'head', 'tr', 'printf', 'pwd', 'ulimit', 'umask', 'mkdir', 'rm', 'tail', 'awk', 'sed', 'cut', 'dd', 'nproc', 'uname', 'whoami']) {
    const link = path.join(rootfs, 'bin', applet);
    if (!fs.existsSync(link)) fs.symlinkSync('busybox', link);
  }
  fs.writeFileSync(path.join(rootfs, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n');
  fs.writeFileSync(path.join(rootfs, 'etc/group'), 'root:x:0:\ntty:x:5:\nnogroup:x:65534:\n');
  fs.writeFileSync(path.join(rootfs, 'etc/hostname'), 'tsrun\n');
}

export interface BundleOptions {
  args?: string[];
  terminal?: boolean;
  /** Shallow-merged over process / linux / top level of the default spec. */
  edit?: (config: Record<string, any>) => void;
}

/** Writes <dir>/rootfs and <dir>/config.json; returns the config. */
export function makeBundle(dir: string, opts: BundleOptions = {}): Record<string, any> {
  fs.mkdirSync(dir, { recursive: true });
  const rootfs = path.join(dir, 'rootfs');
  if (!fs.existsSync(path.join(rootfs, 'bin/busybox'))) makeRootfs(rootfs);
  const config: Record<string, any> = defaultSpec({ args: opts.args ?? ['sh'], terminal: opts.terminal ?? false });
  opts.edit?.(config);
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(config, null, 2));
  return config;
}
