/** The fixed-seed guard (src/util/hash-flood.ts): how a document is measured and how the re-exec is built. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { FIXED_SEED_FLAG, FIXED_SEED_MAX_STRINGS, hasFixedHashSeed, maxJsonStrings, reexecArgv } from '../../src/util/hash-flood';

test('maxJsonStrings: half the double quotes, escaped ones included (an upper bound)', () => {
  assert.is(maxJsonStrings(''), 0);
  assert.is(maxJsonStrings('{"a":1}'), 1);
  assert.is(maxJsonStrings('{"a":"b","c":["d","e"]}'), 5);
  assert.is(maxJsonStrings('{"a\\"b":1}'), 1, 'an escaped quote only raises the bound');
  const big = JSON.stringify(Object.fromEntries(Array.from({ length: FIXED_SEED_MAX_STRINGS + 1 }, (_, i) => [`k${i}`, 1])));
  assert.ok(maxJsonStrings(big) > FIXED_SEED_MAX_STRINGS);
});

test('hasFixedHashSeed: only the launcher flag counts', () => {
  assert.ok(hasFixedHashSeed([FIXED_SEED_FLAG]));
  assert.not.ok(hasFixedHashSeed([]));
  assert.not.ok(hasFixedHashSeed(['--rehash-snapshot']));
});

test('reexecArgv: same script and arguments, Node flags kept but the fixed seed', () => {
  assert.equal(reexecArgv('/usr/bin/node', [FIXED_SEED_FLAG, '--stack-size=900'], ['/usr/bin/node', '/x/boot.js', '--debug', 'state', 'c1']), [
    '/usr/bin/node',
    '--stack-size=900',
    '/x/boot.js',
    '--debug',
    'state',
    'c1',
  ]);
});

test.run();
