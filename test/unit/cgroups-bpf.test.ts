/** The cgroup v2 device filter assembler (src/cgroups/bpf.ts): listings, encoding, and what the program decides. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { deviceFilterInsns, disassemble, encode, evaluate } from '../../src/cgroups/bpf';
import { deviceRules } from '../../src/cgroups/devices';
import type { DeviceRule } from '../../src/cgroups/types';

const PROLOGUE = ['ldxw r2, [r1+0]', 'and32 r2, 0xffff', 'ldxw r3, [r1+0]', 'rsh32 r3, 16', 'ldxw r4, [r1+4]', 'ldxw r5, [r1+8]'];
const rule = (allow: boolean, type: DeviceRule['type'], major: number, minor: number, access = 'rwm'): DeviceRule => ({ allow, type, major, minor, access });

test('no rules: deny everything', () => {
  assert.equal(disassemble(deviceFilterInsns([])), [...PROLOGUE, 'mov r0, 0', 'exit']);
});

test('deny all then allow c 1:3 rwm: the allow block first (reverse order), then the unconditional deny ends the program', () => {
  const insns = deviceFilterInsns([rule(false, 'a', -1, -1), rule(true, 'c', 1, 3)]);
  assert.equal(disassemble(insns), [
    ...PROLOGUE,
    'jne r2, 2, +4', // not a char device → next block
    'jne r4, 1, +3',
    'jne r5, 3, +2',
    'mov r0, 1',
    'exit',
    'mov r0, 0', // the "a" rule: no checks, and nothing after it (the verifier rejects dead code)
    'exit',
  ]);
  assert.ok(evaluate(insns, 'c', 1, 3, 'rw'));
  assert.ok(evaluate(insns, 'c', 1, 3, 'm'));
  assert.not.ok(evaluate(insns, 'c', 1, 5, 'r'));
  assert.not.ok(evaluate(insns, 'b', 1, 3, 'r'));
});

test('partial access: mask check; wildcards skip major/minor', () => {
  const insns = deviceFilterInsns([rule(true, 'c', -1, -1, 'm'), rule(true, 'b', 8, -1, 'r')]);
  assert.equal(disassemble(insns), [
    ...PROLOGUE,
    // b 8:* r
    'jne r2, 1, +6',
    'mov32 r1, r3',
    'and32 r1, 0x2',
    'jne r1, r3, +3',
    'jne r4, 8, +2',
    'mov r0, 1',
    'exit',
    // c *:* m
    'jne r2, 2, +5',
    'mov32 r1, r3',
    'and32 r1, 0x1',
    'jne r1, r3, +2',
    'mov r0, 1',
    'exit',
    // default deny
    'mov r0, 0',
    'exit',
  ]);
  assert.ok(evaluate(insns, 'b', 8, 0, 'r'));
  assert.ok(evaluate(insns, 'b', 8, 17, 'r'));
  assert.not.ok(evaluate(insns, 'b', 8, 0, 'rw'), 'write not in the rule');
  assert.not.ok(evaluate(insns, 'b', 9, 0, 'r'));
  assert.ok(evaluate(insns, 'c', 4, 4, 'm'));
  assert.not.ok(evaluate(insns, 'c', 4, 4, 'r'));
});

test('the last matching rule wins; rules before the last "a" rule are dropped', () => {
  const rules = [rule(true, 'c', 1, 5), rule(true, 'a', -1, -1), rule(false, 'c', 1, 3), rule(true, 'c', 1, 3, 'r')];
  const insns = deviceFilterInsns(rules);
  assert.ok(evaluate(insns, 'c', 1, 3, 'r'), 'later allow r beats the earlier deny');
  assert.not.ok(evaluate(insns, 'c', 1, 3, 'w'), 'w: only the deny matches');
  assert.ok(evaluate(insns, 'c', 1, 5, 'rw'), 'allow-all default');
  assert.ok(evaluate(insns, 'b', 7, 0, 'rwm'));
  const list = disassemble(insns);
  assert.is(list.filter((l) => l === 'exit').length, 3, 'three blocks, no epilogue after the "a" rule; the rule before it is gone');
  assert.is(list[list.length - 2], 'mov r0, 1');
});

test("a container's rules (spec denies + runc's defaults): /dev/null allowed by default, refused when linux.devices overrides it", () => {
  const spec = [{ allow: false, access: 'rwm' }, { allow: false, type: 'c', major: 1, minor: 3, access: 'rwm' }];
  let insns = deviceFilterInsns(deviceRules(spec, [])!);
  assert.ok(evaluate(insns, 'c', 1, 3, 'w'), 'the default allow for /dev/null comes after the spec rules (runc order)');
  assert.ok(evaluate(insns, 'c', 136, 4, 'rw'), '/dev/pts/*');
  assert.ok(evaluate(insns, 'b', 8, 0, 'm'), 'mknod of any block device');
  assert.not.ok(evaluate(insns, 'b', 8, 0, 'r'));
  insns = deviceFilterInsns(deviceRules(spec, [{ path: '/dev/null', type: 'c', major: 1, minor: 3 }])!);
  assert.not.ok(evaluate(insns, 'c', 1, 3, 'w'));
  assert.ok(evaluate(insns, 'c', 1, 5, 'r'), '/dev/zero');
});

test('encoding: struct bpf_insn, host byte order, regs dst low nibble (LE)', () => {
  const buf = encode(deviceFilterInsns([rule(true, 'c', 1, 3)]));
  assert.is(buf.length % 8, 0);
  // ldxw r2, [r1+0]: code 0x61, regs (src 1 << 4 | dst 2) = 0x12
  assert.equal([...buf.subarray(0, 8)], [0x61, 0x12, 0, 0, 0, 0, 0, 0]);
  // and32 r2, 0xffff
  assert.equal([...buf.subarray(8, 16)], [0x54, 0x02, 0, 0, 0xff, 0xff, 0, 0]);
  // last: exit
  assert.equal([...buf.subarray(buf.length - 8)], [0x95, 0, 0, 0, 0, 0, 0, 0]);
  // jne r2, 2, +4
  assert.equal([...buf.subarray(48, 56)], [0x55, 0x02, 4, 0, 2, 0, 0, 0]);
});

test.run();
