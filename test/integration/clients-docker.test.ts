/**
 * Docker as a real client: a private dockerd (test/helpers/docker.ts) with
 * tsrun registered in its daemon.json, the busybox rootfs brought in with
 * `docker import`, and `docker run --runtime <runc|tsrun> --network none …`.
 * Every scenario runs with runc first (proving the scenario on this host),
 * then with tsrun, with the same assertions.
 *
 * The shim calls `<rt> --root <exec-root>/runtime-runc/moby --log <bundle>/log.json
 * --log-format json create|start|kill|delete|exec|ps|pause|resume|update|events …`;
 * Docker maps the runtime's create error text to the exit code of `docker run`
 * (127: not found, 126: permission denied, 125: anything else).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { RUNTIMES, type Runtime, cleanupOnce, describe, reportSkips, scenario, waitFor, withTerminal } from '../helpers/clients';
import { Docker, dockerBinaries } from '../helpers/docker';
import { IMAGE_PATH_ENV, buildBusyboxImage } from '../helpers/oci-image';

const IMAGE = 'tsrun-busybox:latest';
const bins = dockerBinaries();
const dk = bins ? new Docker() : undefined;
const timings: string[] = [];
const cleanup = cleanupOnce(() => dk?.stop());
let tools = '';

test.before(() => {
  if (!dk) return;
  timings.push(`dockerd up in ${dk.start()} ms`);
  const t = Date.now();
  const img = buildBusyboxImage(path.join(dk.dir, 'image'));
  const r = dk.docker(['import', '-c', `ENV ${IMAGE_PATH_ENV}`, '-c', 'CMD ["sh"]', img.layerTar, IMAGE]);
  if (r.status !== 0) throw new Error(`docker import failed${describe(r)}`);
  // A host directory with a script, bind-mounted into containers (the command lives on a volume).
  tools = path.join(dk.dir, 'tools');
  fs.mkdirSync(tools);
  fs.writeFileSync(path.join(tools, 'hello.sh'), '#!/bin/sh\necho "from-volume $0 in $(pwd)"\n', { mode: 0o755 });
  fs.writeFileSync(path.join(tools, 'not-exec.sh'), '#!/bin/sh\necho never\n', { mode: 0o644 });
  timings.push(`image imported in ${Date.now() - t} ms`);
});

// Yield once per test so a SIGTERM/SIGINT (runner timeout, ^C) runs the clean-up promptly.
test.before.each(() => new Promise<void>((resolve) => setImmediate(resolve)));

test.after(() => {
  const t = Date.now();
  cleanup();
  timings.push(`clean-up in ${Date.now() - t} ms`);
  console.log(`\n# docker: ${timings.join('; ')}`);
  reportSkips('clients-docker');
});

if (!dk) {
  test.skip('docker: dockerd/docker not installed (apt-get install docker.io)', () => undefined);
  test.run();
} else {
  const d = dk;
  let n = 0;
  const name = (rt: Runtime, what: string) => `tsrun-it-${rt.name}-${what}-${process.pid}-${n++}`;

  /** `docker run --rm --runtime <rt> --network none [flags] IMAGE cmd…` */
  const run = (rt: Runtime, flags: string[], cmd: string[], timeoutMs = 60_000) =>
    d.docker(['run', '--rm', '--runtime', rt.name, '--network', 'none', ...flags, IMAGE, ...cmd], { timeoutMs });

  const LOOP = ['sh', '-c', 'trap "echo got-term; exit 0" TERM; trap "echo got-usr1" USR1; echo started; while :; do sleep 1 & wait; done'];

  const startDetached = (rt: Runtime, what: string, flags: string[] = [], cmd = LOOP): string => {
    const c = name(rt, what);
    const r = d.docker(['run', '-d', '--name', c, '--runtime', rt.name, '--network', 'none', ...flags, IMAGE, ...cmd]);
    assert.is(r.status, 0, describe(r) + d.runtimeLog(c));
    assert.ok(waitFor(() => d.inspect(c, '{{.State.Status}}') === 'running', 10_000), `${c} running`);
    return c;
  };
  const rm = (c: string) => d.docker(['rm', '-f', c], { timeoutMs: 30_000 });
  const why = (r: Parameters<typeof describe>[0], c = '') => describe(r) + (c ? d.runtimeLog(c) : '');

  for (const rt of RUNTIMES) {
    scenario(test, rt, 'docker run: stdout, stderr, exit codes', [], () => {
      const ok = run(rt, [], ['sh', '-c', 'echo hello from busybox; echo pid=$$']);
      assert.is(ok.status, 0, why(ok));
      assert.is(ok.stdout, 'hello from busybox\npid=1\n', why(ok));
      const three = run(rt, [], ['sh', '-c', 'echo to-stderr >&2; exit 3']);
      assert.is(three.status, 3, why(three));
      assert.match(three.stderr, /to-stderr/, why(three));
    });

    scenario(test, rt, 'docker run --init: docker-init is pid 1 (bind-mounted init binary)', [], () => {
      const r = run(rt, ['--init'], ['sh', '-c', 'tr "\\0" " " < /proc/1/cmdline; echo; echo self=$$']);
      assert.is(r.status, 0, why(r));
      assert.match(r.stdout, /^\/sbin\/docker-init -- sh -c/, why(r));
      assert.not.match(r.stdout, /self=1\n/, why(r));
    });

    scenario(test, rt, 'docker run: the command lives on a bind mount', [], () => {
      const r = run(rt, ['-v', `${tools}:/opt/tools:ro`], ['/opt/tools/hello.sh']);
      assert.is(r.status, 0, why(r));
      assert.is(r.stdout, 'from-volume /opt/tools/hello.sh in /\n', why(r));
    });

    scenario(test, rt, 'docker run -w /opt/tools ./hello.sh: a relative command against the working directory', [], () => {
      const r = run(rt, ['-v', `${tools}:/opt/tools:ro`, '-w', '/opt/tools'], ['./hello.sh']);
      assert.is(r.status, 0, why(r));
      assert.is(r.stdout, 'from-volume ./hello.sh in /opt/tools\n', why(r));
    });

    scenario(test, rt, 'docker run: HOME from /etc/passwd (root → /root, unknown uid → /)', [], () => {
      const root = run(rt, [], ['sh', '-c', 'echo "HOME=$HOME"']);
      assert.is(root.status, 0, why(root));
      assert.is(root.stdout, 'HOME=/root\n', why(root));
      const other = run(rt, ['-u', '4242'], ['sh', '-c', 'echo "HOME=$HOME"']);
      assert.is(other.status, 0, why(other));
      assert.is(other.stdout, 'HOME=/\n', why(other));
    });

    scenario(test, rt, 'docker run: exit codes from the runtime error text (127 missing, 126 not executable / directory)', [], () => {
      const missing = run(rt, [], ['/no/such/binary']);
      assert.is(missing.status, 127, why(missing));
      const notInPath = run(rt, [], ['no-such-command']);
      assert.is(notInPath.status, 127, why(notInPath));
      const dir = run(rt, [], ['/etc']);
      assert.is(dir.status, 126, why(dir));
      const notExec = run(rt, ['-v', `${tools}:/opt/tools:ro`], ['/opt/tools/not-exec.sh']);
      assert.is(notExec.status, 126, why(notExec));
    });

    scenario(test, rt, 'docker run -u 65534:65534', [], () => {
      const r = run(rt, ['-u', '65534:65534'], ['id']);
      assert.is(r.status, 0, why(r));
      assert.match(r.stdout, /^uid=65534\(nobody\) gid=65534\(nogroup\)/, why(r));
    });

    scenario(test, rt, 'docker run --read-only (+ --tmpfs /tmp)', [], () => {
      const probe = 'touch /probe 2>/dev/null && echo root-writable || echo root-read-only; touch /tmp/x && echo tmp-writable';
      const r = run(rt, ['--read-only', '--tmpfs', '/tmp'], ['sh', '-c', probe]);
      assert.is(r.status, 0, why(r));
      assert.is(r.stdout, 'root-read-only\ntmp-writable\n', why(r));
    });

    scenario(test, rt, 'docker run --cap-drop ALL / --cap-add NET_ADMIN', [], () => {
      const none = run(rt, ['--cap-drop', 'ALL'], ['grep', '^Cap', '/proc/self/status']);
      assert.is(none.status, 0, why(none));
      for (const set of ['CapInh', 'CapPrm', 'CapEff', 'CapAmb']) assert.match(none.stdout, new RegExp(`^${set}:\\s+0{16}$`, 'm'), `${set}${why(none)}`);
      const add = run(rt, ['--cap-drop', 'ALL', '--cap-add', 'NET_ADMIN'], ['grep', '^CapEff', '/proc/self/status']);
      assert.is(add.status, 0, why(add));
      assert.match(add.stdout, /^CapEff:\s+0{12}1000$/m, `only CAP_NET_ADMIN (bit 12)${why(add)}`);
    });

    scenario(test, rt, 'docker run --memory 64m --pids-limit 50: the container cgroup has the limits', ['cgroups'], () => {
      const r = run(rt, ['--memory', '64m', '--pids-limit', '50'], ['sh', '-c', 'cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/pids/pids.max']);
      assert.is(r.status, 0, why(r));
      assert.is(r.stdout, `${64 * 1024 * 1024}\n50\n`, why(r));
    });

    scenario(test, rt, 'docker run -it: the process gets a terminal, exit code kept', ['console-socket'], () => {
      const r = d.raw(withTerminal(d.argv(['run', '--rm', '-it', '--runtime', rt.name, '--network', 'none', IMAGE, 'sh', '-c', 'test -t 0 && test -t 1 && echo tty-ok; tty; exit 4'])));
      assert.is(r.status, 4, why(r));
      assert.match(r.stdout, /tty-ok\s+\/dev\/pts\/\d+\s/, why(r));
    });

    scenario(test, rt, 'docker run -d: exec, top, stats, logs, pause/unpause, kill -s USR1, stop, restart, kill', ['exec', 'ps', 'pause', 'cgroups'], () => {
      const c = startDetached(rt, 'life');
      try {
        const e = d.docker(['exec', c, 'sh', '-c', 'echo exec-ok; exit 5']);
        assert.is(e.status, 5, why(e, c));
        assert.is(e.stdout, 'exec-ok\n', why(e, c));
        const eu = d.docker(['exec', '-u', '65534', '-w', '/tmp', c, 'sh', '-c', 'id -u; pwd']);
        assert.is(eu.stdout, '65534\n/tmp\n', why(eu, c));
        const top = d.docker(['top', c]);
        assert.is(top.status, 0, why(top, c));
        assert.match(top.stdout, /trap/, why(top, c));
        const stats = d.docker(['stats', '--no-stream', '--format', '{{.MemUsage}} {{.PIDs}}', c]);
        assert.is(stats.status, 0, why(stats, c));
        assert.match(stats.stdout, /^[1-9][\d.]*\s*[kKMG]i?B\s*\/\s*\S+ [1-9]\d*$/m, `non-zero memory usage and pids${why(stats, c)}`);
        const p = d.docker(['pause', c]);
        assert.is(p.status, 0, why(p, c));
        assert.is(d.inspect(c, '{{.State.Status}}'), 'paused');
        const u = d.docker(['unpause', c]);
        assert.is(u.status, 0, why(u, c));
        assert.is(d.inspect(c, '{{.State.Status}}'), 'running');
        const k = d.docker(['kill', '-s', 'USR1', c]);
        assert.is(k.status, 0, why(k, c));
        assert.ok(waitFor(() => /got-usr1/.test(d.docker(['logs', c]).stdout), 5_000), 'the USR1 trap ran');
        const s = d.docker(['stop', '-t', '10', c]);
        assert.is(s.status, 0, why(s, c));
        assert.is(d.inspect(c, '{{.State.Status}}'), 'exited');
        assert.is(d.inspect(c, '{{.State.ExitCode}}'), '0', 'the TERM trap ran');
        const logs = d.docker(['logs', c]);
        assert.match(logs.stdout, /started\n(.|\n)*got-term/, why(logs, c));
        const re = d.docker(['restart', '-t', '10', c]);
        assert.is(re.status, 0, why(re, c) + d.daemonLog(c));
        assert.is(d.inspect(c, '{{.State.Status}}'), 'running');
        const kk = d.docker(['kill', c]);
        assert.is(kk.status, 0, why(kk, c));
        assert.ok(waitFor(() => d.inspect(c, '{{.State.Status}}') === 'exited', 10_000), 'exited');
        assert.is(d.inspect(c, '{{.State.ExitCode}}'), '137');
      } finally {
        rm(c);
      }
    });

    scenario(test, rt, 'docker volumes: a named volume outlives the container that wrote it', [], () => {
      const vol = `tsrun-it-${rt.name}-vol-${process.pid}`;
      try {
        const w = run(rt, ['-v', `${vol}:/data`], ['sh', '-c', 'echo persisted > /data/f']);
        assert.is(w.status, 0, why(w));
        const r = run(rt, ['-v', `${vol}:/data:ro`], ['sh', '-c', 'cat /data/f; touch /data/g 2>/dev/null || echo read-only']);
        assert.is(r.status, 0, why(r));
        assert.is(r.stdout, 'persisted\nread-only\n', why(r));
      } finally {
        d.docker(['volume', 'rm', '-f', vol]);
      }
    });

    scenario(test, rt, 'docker seccomp: the default profile (Seccomp: 2), unconfined (0)', ['seccomp'], () => {
      const dflt = run(rt, [], ['grep', '^Seccomp:', '/proc/self/status']);
      assert.is(dflt.status, 0, why(dflt));
      assert.match(dflt.stdout, /^Seccomp:\s+2$/m, why(dflt));
      const un = run(rt, ['--security-opt', 'seccomp=unconfined'], ['grep', '^Seccomp:', '/proc/self/status']);
      assert.is(un.status, 0, why(un));
      assert.match(un.stdout, /^Seccomp:\s+0$/m, why(un));
    });

    scenario(test, rt, 'docker run --security-opt no-new-privileges', [], () => {
      const r = run(rt, ['--security-opt', 'no-new-privileges'], ['grep', '^NoNewPrivs:', '/proc/self/status']);
      assert.is(r.status, 0, why(r));
      assert.match(r.stdout, /^NoNewPrivs:\s+1$/m, why(r));
    });

    scenario(test, rt, 'docker update --memory / --pids-limit of a running container', ['cgroups'], () => {
      const c = startDetached(rt, 'update', ['--memory', '64m', '--memory-swap', '-1']);
      try {
        const u = d.docker(['update', '--memory', '96m', '--memory-swap', '-1', '--pids-limit', '33', c]);
        assert.is(u.status, 0, why(u, c));
        const r = d.docker(['exec', c, 'cat', '/sys/fs/cgroup/memory/memory.limit_in_bytes', '/sys/fs/cgroup/pids/pids.max']);
        assert.is(r.status, 0, why(r, c));
        assert.is(r.stdout, `${96 * 1024 * 1024}\n33\n`, why(r, c));
      } finally {
        rm(c);
      }
    });

    scenario(test, rt, 'docker rm -f of a running container: gone, nothing left in the runtime', [], () => {
      const c = startDetached(rt, 'rmf');
      const id = d.inspect(c, '{{.Id}}');
      const r = d.docker(['rm', '-f', c]);
      assert.is(r.status, 0, why(r, c));
      assert.is(d.docker(['ps', '-aq', '--filter', `name=${c}`]).stdout.trim(), '', 'container gone');
      const stateDir = path.join(d.dir, 'exec', 'runtime-runc', 'moby', id);
      assert.ok(waitFor(() => !fs.existsSync(stateDir), 5_000), `runtime state ${stateDir} removed`);
    });

    scenario(test, rt, 'docker run --privileged: all devices, full capability set the host allows', ['cgroups'], () => {
      const r = run(rt, ['--privileged'], ['sh', '-c', 'grep ^CapEff /proc/self/status; test -c /dev/kmsg && echo has-kmsg; echo ok']);
      if (rt.name === 'runc' && r.status !== 0) {
        // runtime-spec 1.3.0: capabilities the host cannot grant SHOULD NOT fail the container; runc does fail
        // where the bounding set lacks one (no CAP_SYS_RESOURCE here). tsrun is still held to running it.
        console.log(`# docker --privileged: runc fails on this host (expected where the bounding set is short):${why(r)}`);
        return;
      }
      assert.is(r.status, 0, why(r));
      assert.match(r.stdout, /has-kmsg\nok\n$/, why(r));
    });
  }

  test.run();
}
