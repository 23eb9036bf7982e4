import { spawn } from 'node:child_process';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { closeProcess, openProcess, signalIfSame } from '../../src/native/pidfd';
import { processAlive, readStartTime, waitForExit } from '../../src/state/proc';

test('a process is signalled only while it is the one started at the recorded time', async () => {
  const child = spawn('sleep', ['30'], { stdio: 'ignore' });
  const pid = child.pid!;
  const exited = new Promise((r) => child.on('exit', r));
  try {
    const start = readStartTime(pid)!;
    assert.ok(start);
    // A record whose start time differs names another process that once had this pid.
    assert.is(signalIfSame(pid, String(Number(start) + 1), 9), false);
    assert.ok(processAlive(pid), 'a reused pid is never signalled');
    const h = openProcess(pid, start);
    assert.ok(h);
    closeProcess(h!);
    assert.is(signalIfSame(pid, start, 9), true);
    await exited;
    assert.ok(waitForExit(pid, start, 1000));
    assert.is(signalIfSame(pid, start, 0), false, 'gone: nothing to signal');
  } finally {
    child.kill('SIGKILL');
  }
});

test.run();
