/**
 * A local busybox image with no registry: the rootfs from src/bundle/busybox.ts
 * as one uncompressed tar layer, plus an OCI image config, manifest, index.json
 * and oci-layout, packed as an OCI image-layout tarball that
 * `ctr images import` accepts. The bare layer tar is what `podman import` takes.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { makeRootfs } from '../../src/bundle/busybox';

export const IMAGE_NAME = 'localhost/tsrun-busybox:latest';
export const IMAGE_PATH_ENV = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export interface LocalImage {
  /** The rootfs as a plain tar (the image's only layer): input of `podman import`. */
  layerTar: string;
  /** OCI image layout tarball: input of `ctr images import`. */
  ociTar: string;
  /** The name the image is imported under (containerd's io.containerd.image.name). */
  name: string;
}

function goArch(): string {
  const map: Record<string, string> = { x64: 'amd64', arm64: 'arm64', arm: 'arm', ppc64: 'ppc64le', s390x: 's390x', riscv64: 'riscv64' };
  return map[process.arch] ?? process.arch;
}

function sha256(buf: Buffer): string {
  return createHash('sha256').update(buf).digest('hex');
}

/** Writes a content-addressed blob; returns its OCI descriptor. */
function blob(layout: string, mediaType: string, data: Buffer, extra: Record<string, unknown> = {}) {
  const digest = sha256(data);
  fs.writeFileSync(path.join(layout, 'blobs/sha256', digest), data);
  return { mediaType, digest: `sha256:${digest}`, size: data.length, ...extra };
}

/** Builds both tarballs under `dir` (created if needed); `cmd` is the image's Cmd (default `sh`). */
export function buildBusyboxImage(dir: string, name = IMAGE_NAME, cmd: string[] = ['sh']): LocalImage {
  fs.mkdirSync(dir, { recursive: true });
  const rootfs = path.join(dir, 'rootfs');
  makeRootfs(rootfs);
  const layerTar = path.join(dir, 'rootfs.tar');
  // Deterministic owner and order; the layer is the rootfs' contents (./bin, ./etc …).
  execFileSync('tar', ['--numeric-owner', '--owner=0', '--group=0', '--sort=name', '-C', rootfs, '-cf', layerTar, '.']);

  const layout = path.join(dir, 'oci');
  fs.mkdirSync(path.join(layout, 'blobs/sha256'), { recursive: true });
  const layerData = fs.readFileSync(layerTar);
  const layer = blob(layout, 'application/vnd.oci.image.layer.v1.tar', layerData);
  const created = new Date().toISOString();
  const config = {
    created,
    architecture: goArch(),
    os: 'linux',
    config: { Env: [IMAGE_PATH_ENV], Cmd: cmd, WorkingDir: '/' },
    rootfs: { type: 'layers', diff_ids: [layer.digest] }, // uncompressed: diff_id = digest
    history: [{ created, created_by: 'tsrun test/helpers/oci-image.ts (busybox-static rootfs)' }],
  };
  const configDesc = blob(layout, 'application/vnd.oci.image.config.v1+json', Buffer.from(JSON.stringify(config)));
  const manifest = {
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: configDesc,
    layers: [layer],
  };
  const [repo, tag] = splitRef(name);
  const manifestDesc = blob(layout, 'application/vnd.oci.image.manifest.v1+json', Buffer.from(JSON.stringify(manifest)), {
    platform: { architecture: goArch(), os: 'linux' },
    annotations: { 'io.containerd.image.name': `${repo}:${tag}`, 'org.opencontainers.image.ref.name': tag },
  });
  const index = { schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: [manifestDesc] };
  fs.writeFileSync(path.join(layout, 'index.json'), JSON.stringify(index));
  fs.writeFileSync(path.join(layout, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  const ociTar = path.join(dir, 'image-oci.tar');
  execFileSync('tar', ['--numeric-owner', '--owner=0', '--group=0', '-C', layout, '-cf', ociTar, 'oci-layout', 'index.json', 'blobs']);
  fs.rmSync(layout, { recursive: true, force: true });
  fs.rmSync(rootfs, { recursive: true, force: true });
  return { layerTar, ociTar, name: `${repo}:${tag}` };
}

function splitRef(name: string): [string, string] {
  const slash = name.lastIndexOf('/');
  const colon = name.lastIndexOf(':');
  return colon > slash ? [name.slice(0, colon), name.slice(colon + 1)] : [name, 'latest'];
}
