import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { TsrunError } from '../../src/errors';
import { parseSignal, signalName } from '../../src/signals';

test('numbers, names, SIG prefix, any case', () => {
  for (const s of ['15', 'TERM', 'SIGTERM', 'term', 'sigterm', 'SigTerm']) assert.is(parseSignal(s), 15, s);
  for (const s of ['9', 'KILL', 'SIGKILL', 'kill']) assert.is(parseSignal(s), 9, s);
  assert.is(parseSignal('HUP'), 1);
  assert.is(parseSignal('SIGUSR1'), 10);
  assert.is(parseSignal('usr2'), 12);
  assert.is(parseSignal('CHLD'), 17);
  assert.is(parseSignal('SIGCLD'), 17);
  assert.is(parseSignal('IOT'), 6);
  assert.is(parseSignal('POLL'), 29);
  assert.is(parseSignal('SIGWINCH'), 28);
  assert.is(parseSignal('PWR'), 30);
  assert.is(parseSignal('SYS'), 31);
  assert.is(parseSignal('STKFLT'), 16);
  assert.is(parseSignal('64'), 64);
  assert.is(parseSignal('1'), 1);
  assert.is(parseSignal('0'), 0, 'signal 0: the liveness probe (runc kill ID 0)');
  assert.is(parseSignal('00'), 0);
});

test('default is SIGTERM', () => {
  assert.is(parseSignal(undefined), 15);
  assert.is(parseSignal(''), 15);
});

test('realtime signals', () => {
  assert.is(parseSignal('RTMIN'), 34);
  assert.is(parseSignal('SIGRTMIN'), 34);
  assert.is(parseSignal('SIGRTMIN+1'), 35);
  assert.is(parseSignal('rtmin+30'), 64);
  assert.is(parseSignal('SIGRTMAX'), 64);
  assert.is(parseSignal('SIGRTMAX-1'), 63);
  assert.is(parseSignal('RTMAX-30'), 34);
});

test('unknown signals', () => {
  for (const s of ['x', 'SIGFOO', '65', '-9', '9x', 'RTMIN+31', 'RTMAX-31', 'RTMIN-1', 'SIG', 'TOSTRING', 'constructor', '__proto__']) {
    try {
      parseSignal(s);
      assert.unreachable(s);
    } catch (e) {
      assert.instance(e, TsrunError, s);
      assert.is((e as Error).message, `unknown signal "${s}"`);
    }
  }
});

test('signalName', () => {
  assert.is(signalName(15), 'SIGTERM');
  assert.is(signalName(9), 'SIGKILL');
  assert.is(signalName(34), 'SIGRTMIN');
  assert.is(signalName(35), 'SIGRTMIN+1');
  assert.is(signalName(63), 'SIGRTMAX-1');
  for (let n = 1; n <= 64; n++) if (n !== 32 && n !== 33) assert.is(parseSignal(signalName(n)), n, String(n));
});

test.run();
