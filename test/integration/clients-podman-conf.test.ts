/**
 * podman with the runtime chosen BY NAME, as users configure it: the private
 * containers.conf of test/helpers/podman.ts lists `[engine.runtimes] runc = […]`
 * and `tsrun = […]` (and "tsrun" in runtime_supports_json), and every command
 * here says `podman --runtime <name>`, never a path. Scenarios where the
 * runtime must find a command that only exists after the mounts: `--init`
 * (the init binary is bind-mounted), `-w` + a relative command on a volume,
 * and `--privileged` (devices with the file type in fileMode). runc first,
 * then tsrun.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { RUNTIMES, type Runtime, cleanupOnce, describe, reportSkips, scenario } from '../helpers/clients';
import { buildBusyboxImage } from '../helpers/oci-image';
import { Podman } from '../helpers/podman';

const IMAGE = 'localhost/tsrun-busybox:latest';
const pm = new Podman();
const timings: string[] = [];
const cleanup = cleanupOnce(() => pm.stop());
let tools = '';
/** podman's default init (catatonit) is not packaged here; tini-static comes with docker.io. */
const INIT = ['/usr/libexec/podman/catatonit', '/usr/bin/catatonit', '/usr/bin/tini-static'].find((p) => fs.existsSync(p));

test.before(() => {
  const t = Date.now();
  const img = buildBusyboxImage(path.join(pm.dir, 'image'));
  const r = pm.podman(['import', img.layerTar, IMAGE]);
  if (r.status !== 0) throw new Error(`podman import failed${describe(r)}`);
  tools = path.join(pm.dir, 'tools');
  fs.mkdirSync(tools);
  fs.writeFileSync(path.join(tools, 'hello.sh'), '#!/bin/sh\necho "from-volume $0 in $(pwd)"\n', { mode: 0o755 });
  timings.push(`image imported in ${Date.now() - t} ms`);
});

test.before.each(() => new Promise<void>((resolve) => setImmediate(resolve)));

test.after(() => {
  const t = Date.now();
  cleanup();
  timings.push(`clean-up in ${Date.now() - t} ms`);
  console.log(`\n# podman (containers.conf): ${timings.join('; ')}`);
  reportSkips('clients-podman-conf');
});

/** `podman --runtime <name> run --rm --network none [flags] IMAGE cmd…`: the name resolves through containers.conf. */
function run(rt: Runtime, flags: string[], cmd: string[]) {
  return pm.podman(['--runtime', rt.name, 'run', '--rm', '--network', 'none', ...flags, IMAGE, ...cmd]);
}

for (const rt of RUNTIMES) {
  scenario(test, rt, 'podman --runtime <name>: resolved through [engine.runtimes]', [], () => {
    const r = pm.podman(['--runtime', rt.name, 'info', '--format', '{{.Host.OCIRuntime.Name}} {{.Host.OCIRuntime.Path}}']);
    assert.is(r.status, 0, describe(r));
    assert.is(r.stdout.trim(), `${rt.name} ${rt.bin}`, describe(r));
    const ok = run(rt, [], ['echo', 'by-name']);
    assert.is(ok.status, 0, describe(ok));
    assert.is(ok.stdout, 'by-name\n', describe(ok));
  });

  if (INIT) {
    scenario(test, rt, 'podman run --init: the bind-mounted init is pid 1', [], () => {
      const r = run(rt, ['--init', '--init-path', INIT], ['sh', '-c', 'tr "\\0" " " < /proc/1/cmdline; echo; echo self=$$']);
      assert.is(r.status, 0, describe(r));
      assert.match(r.stdout, /^\/run\/podman-init -- sh -c/, describe(r));
    });
  } else {
    test.skip(`${rt.name}: podman run --init (no catatonit or tini-static on this host)`, () => undefined);
  }

  scenario(test, rt, 'podman run -w /opt/tools ./hello.sh: a relative command on a volume', [], () => {
    const r = run(rt, ['-v', `${tools}:/opt/tools:ro`, '-w', '/opt/tools'], ['./hello.sh']);
    assert.is(r.status, 0, describe(r));
    assert.is(r.stdout, 'from-volume ./hello.sh in /opt/tools\n', describe(r));
  });

  scenario(test, rt, 'podman run --privileged: host devices (fileMode with the type bits), all capabilities it can grant', [], () => {
    const r = run(rt, ['--privileged'], ['sh', '-c', 'test -c /dev/kmsg && echo has-kmsg; grep ^CapEff /proc/self/status']);
    assert.is(r.status, 0, describe(r));
    assert.match(r.stdout, /^has-kmsg\nCapEff:\s+[0-9a-f]{16}\n$/, describe(r));
  });
}

test.run();
