/**
 * The Kubernetes path: containerd's CRI plugin with a `tsrun` runtime handler
 * (test/helpers/cri.ts), driven over gRPC as the kubelet would. Each scenario
 * runs in a pod of the `runc` handler first, then of the `tsrun` handler.
 * Pods use the node's network (no CNI plugin on this host).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { RUNTIMES, cleanupOnce, reportSkips, scenario } from '../helpers/clients';
import { CRI_IMAGE, Cri } from '../helpers/cri';

const cri = new Cri();
const timings: string[] = [];
const cleanup = cleanupOnce(() => cri.stop());

test.before(() => {
  timings.push(`containerd (CRI) up and images imported in ${cri.start()} ms`);
});

test.after(() => {
  const t = Date.now();
  cleanup();
  timings.push(`clean-up in ${Date.now() - t} ms`);
  console.log(`\n# cri: ${timings.join('; ')}`);
  reportSkips('clients-cri');
});

let n = 0;
const LOOP = ['sh', '-c', 'trap "echo got-term; exit 0" TERM; echo started; while :; do sleep 1 & wait; done'];

interface ExecSync {
  stdout: Buffer;
  stderr: Buffer;
  exit_code: number;
}

/** CreateContainer + StartContainer in a pod; returns the container id. */
async function startContainer(pod: { id: string; config: Record<string, unknown> }, name: string, command: string[], extra: Record<string, unknown> = {}): Promise<string> {
  const config = {
    metadata: { name, attempt: 0 },
    image: { image: CRI_IMAGE },
    command,
    log_path: `${name}.log`,
    ...extra,
  };
  const c = await cri.rpc<{ container_id: string }>('CreateContainer', { pod_sandbox_id: pod.id, config, sandbox_config: pod.config });
  await cri.rpc('StartContainer', { container_id: c.container_id }).catch((e: Error) => {
    throw new Error(`${e.message}${cri.runtimeLog(c.container_id)}`);
  });
  return c.container_id;
}

async function status(id: string): Promise<{ state: string; exit_code: number; reason: string; message: string }> {
  const r = await cri.rpc<{ status: { state: string; exit_code: number; reason: string; message: string } }>('ContainerStatus', { container_id: id });
  return r.status;
}

async function waitExited(id: string, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if ((await status(id)).state === 'CONTAINER_EXITED') return;
    await new Promise((r) => setTimeout(r, 100));
  }
}

function readLog(pod: { config: Record<string, unknown> }, name: string): string {
  try {
    return fs.readFileSync(path.join(pod.config.log_directory as string, `${name}.log`), 'utf8');
  } catch {
    return '';
  }
}

for (const rt of RUNTIMES) {
  scenario(test, rt, 'CRI: pod + container, ExecSync, ContainerStats, UpdateContainerResources, StopContainer (TERM trap), RemoveContainer', ['exec', 'cgroups'], async () => {
    const pod = await cri.runPod(rt, `tsrun-it-${rt.name}-life-${process.pid}-${n++}`);
    try {
      const mem = 64 * 1024 * 1024;
      const id = await startContainer(pod, 'loop', LOOP, { linux: { resources: { memory_limit_in_bytes: mem } } });
      const ex = await cri.rpc<ExecSync>('ExecSync', { container_id: id, cmd: ['sh', '-c', 'echo exec-ok; echo to-err >&2; exit 5'], timeout: 20 });
      assert.is(ex.exit_code, 5, `ExecSync exit code${cri.runtimeLog(id)}`);
      assert.is(ex.stdout.toString(), 'exec-ok\n');
      assert.is(ex.stderr.toString(), 'to-err\n');
      const lim = await cri.rpc<ExecSync>('ExecSync', { container_id: id, cmd: ['cat', '/sys/fs/cgroup/memory/memory.limit_in_bytes'], timeout: 20 });
      assert.is(lim.stdout.toString().trim(), String(mem), `memory limit at create: ${lim.stderr}`);
      const stats = await cri.rpc<{ stats: { memory: { working_set_bytes?: { value: number }; usage_bytes?: { value: number } }; cpu: { usage_core_nano_seconds?: { value: number } } } }>('ContainerStats', { container_id: id });
      assert.ok((stats.stats.memory.usage_bytes?.value ?? 0) > 0, `memory usage ${JSON.stringify(stats.stats.memory)}`);
      assert.ok((stats.stats.cpu.usage_core_nano_seconds?.value ?? 0) > 0, `cpu usage ${JSON.stringify(stats.stats.cpu)}`);
      await cri.rpc('UpdateContainerResources', { container_id: id, linux: { memory_limit_in_bytes: 2 * mem, cpu_shares: 512 } });
      const lim2 = await cri.rpc<ExecSync>('ExecSync', { container_id: id, cmd: ['cat', '/sys/fs/cgroup/memory/memory.limit_in_bytes', '/sys/fs/cgroup/cpu/cpu.shares'], timeout: 20 });
      assert.is(lim2.stdout.toString(), `${2 * mem}\n512\n`, `after UpdateContainerResources: ${lim2.stderr}`);
      const t0 = Date.now();
      await cri.rpc('StopContainer', { container_id: id, timeout: 10 });
      const stopMs = Date.now() - t0;
      const st = await status(id);
      assert.is(st.state, 'CONTAINER_EXITED');
      assert.is(st.exit_code, 0, `the TERM trap ran (stop took ${stopMs} ms)`);
      assert.match(readLog(pod, 'loop'), /started[\s\S]*got-term/);
      await cri.rpc('RemoveContainer', { container_id: id });
      console.log(`# cri ${rt.name}: StopContainer of a TERM-trapping container ${stopMs} ms`);
    } finally {
      await cri.removePod(pod.id);
    }
  });

  scenario(test, rt, 'CRI: exit code, run_as_user, readonly rootfs, no_new_privs, working_dir', [], async () => {
    const pod = await cri.runPod(rt, `tsrun-it-${rt.name}-exit-${process.pid}-${n++}`);
    try {
      const id = await startContainer(pod, 'exit3', ['sh', '-c', 'id -u; pwd; touch /x 2>/dev/null || echo ro; grep ^NoNewPrivs: /proc/self/status; exit 3'], {
        working_dir: '/tmp',
        linux: { security_context: { run_as_user: { value: 65534 }, readonly_rootfs: true, no_new_privs: true } },
      });
      await waitExited(id);
      const st = await status(id);
      assert.is(st.state, 'CONTAINER_EXITED', `${st.reason} ${st.message}`);
      assert.is(st.exit_code, 3, `${st.reason} ${st.message}`);
      const log = readLog(pod, 'exit3');
      assert.match(log, /stdout F 65534\n/, log);
      assert.match(log, /stdout F \/tmp\n/, log);
      assert.match(log, /stdout F ro\n/, log);
      assert.match(log, /stdout F NoNewPrivs:\s+1\n/, log);
      await cri.rpc('RemoveContainer', { container_id: id });
    } finally {
      await cri.removePod(pod.id);
    }
  });

  scenario(test, rt, 'CRI: RemoveContainer of a running container, StopPodSandbox with a running container', [], async () => {
    const pod = await cri.runPod(rt, `tsrun-it-${rt.name}-rm-${process.pid}-${n++}`);
    try {
      const a = await startContainer(pod, 'a', ['sleep', '1000']);
      await cri.rpc('StopContainer', { container_id: a, timeout: 0 });
      await cri.rpc('RemoveContainer', { container_id: a });
      await startContainer(pod, 'b', ['sleep', '1000']);
      await cri.rpc('StopPodSandbox', { pod_sandbox_id: pod.id });
      await cri.rpc('RemovePodSandbox', { pod_sandbox_id: pod.id });
      cri.pods.delete(pod.id);
    } finally {
      await cri.removePod(pod.id);
    }
  });
}

test.run();
