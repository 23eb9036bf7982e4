/**
 * cgroup v2 device control: the ordered device rule list (devices.ts) compiled
 * to a BPF_PROG_TYPE_CGROUP_DEVICE program, the way runc's devicefilter does:
 *
 *   prologue   r2 = ctx->access_type & 0xffff   (device type: 1 block, 2 char)
 *              r3 = ctx->access_type >> 16      (requested access: 1 mknod, 2 read, 4 write)
 *              r4 = ctx->major, r5 = ctx->minor
 *   per rule, LAST rule first (the last matching rule wins, as the v1 list):
 *              if r2 != type   goto next        (not for type 'a')
 *              r1 = r3; r1 &= access; if r1 != r3 goto next   (only when access != rwm)
 *              if r4 != major  goto next        (not for a wildcard)
 *              if r5 != minor  goto next        (not for a wildcard)
 *              r0 = allow; exit
 *   epilogue   r0 = 0; exit                     (default deny)
 *
 * A rule that matches everything (type 'a': the v1 "a" rule that resets the
 * list, whatever its access) ends the program: the verifier rejects
 * unreachable instructions, so nothing is emitted after it. Rules before
 * the last "a" rule are dropped first (effectiveRules), as on v1.
 *
 * Instructions are struct bpf_insn in host byte order (8 bytes: code,
 * dst_reg:4/src_reg:4, off s16, imm s32). Loading and attaching is native
 * (addon/spawn/bpf.cc, bpf-native.ts).
 */
import { effectiveRules } from './devices';
import type { DeviceRule } from './types';

// Instruction classes, sizes, modes, ops, sources (linux/bpf_common.h, linux/bpf.h).
const BPF_LDX = 0x01;
const BPF_ALU = 0x04;
const BPF_JMP = 0x05;
const BPF_ALU64 = 0x07;
const BPF_W = 0x00;
const BPF_MEM = 0x60;
const BPF_K = 0x00;
const BPF_X = 0x08;
const BPF_AND = 0x50;
const BPF_RSH = 0x70;
const BPF_MOV = 0xb0;
const BPF_JNE = 0x50;
const BPF_EXIT = 0x90;

/** include/uapi/linux/bpf.h: BPF_DEVCG_ACC_* and BPF_DEVCG_DEV_*. */
export const DEVCG_ACC = { m: 1, r: 2, w: 4 } as const;
export const DEVCG_DEV = { b: 1, c: 2 } as const;

export interface Insn {
  code: number;
  dst: number;
  src: number;
  off: number;
  imm: number;
}

const insn = (code: number, dst: number, src: number, off: number, imm: number): Insn => ({ code, dst, src, off, imm });
const ldxW = (dst: number, src: number, off: number): Insn => insn(BPF_LDX | BPF_MEM | BPF_W, dst, src, off, 0);
const and32 = (dst: number, imm: number): Insn => insn(BPF_ALU | BPF_AND | BPF_K, dst, 0, 0, imm);
const rsh32 = (dst: number, imm: number): Insn => insn(BPF_ALU | BPF_RSH | BPF_K, dst, 0, 0, imm);
const mov32Reg = (dst: number, src: number): Insn => insn(BPF_ALU | BPF_MOV | BPF_X, dst, src, 0, 0);
const mov64Imm = (dst: number, imm: number): Insn => insn(BPF_ALU64 | BPF_MOV | BPF_K, dst, 0, 0, imm);
/** off is filled in when the block's length is known (-1 = "to the next block"). */
const jneImm = (dst: number, imm: number): Insn => insn(BPF_JMP | BPF_JNE | BPF_K, dst, 0, -1, imm);
const jneReg = (dst: number, src: number): Insn => insn(BPF_JMP | BPF_JNE | BPF_X, dst, src, -1, 0);
const exit = (): Insn => insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0);

function accessMask(access: string): number {
  let m = 0;
  for (const ch of access) m |= DEVCG_ACC[ch as keyof typeof DEVCG_ACC] ?? 0;
  return m;
}

/** One rule's block; `final` when it matches every access of every device. */
function ruleBlock(r: DeviceRule): { insns: Insn[]; final: boolean } {
  const body: Insn[] = [];
  if (r.type !== 'a') {
    body.push(jneImm(2, DEVCG_DEV[r.type]));
    const mask = accessMask(r.access || 'rwm');
    if (mask !== 7) body.push(mov32Reg(1, 3), and32(1, mask), jneReg(1, 3));
    if (r.major >= 0) body.push(jneImm(4, r.major));
    if (r.minor >= 0) body.push(jneImm(5, r.minor));
  }
  const insns = [...body, mov64Imm(0, r.allow ? 1 : 0), exit()];
  // Every "goto next" jumps just past this block.
  insns.forEach((ins, i) => {
    if (ins.off === -1) ins.off = insns.length - (i + 1);
  });
  return { insns, final: body.length === 0 };
}

/** The program's instructions for an ordered rule list (undefined/empty list = deny everything). */
export function deviceFilterInsns(rules: DeviceRule[]): Insn[] {
  const out: Insn[] = [ldxW(2, 1, 0), and32(2, 0xffff), ldxW(3, 1, 0), rsh32(3, 16), ldxW(4, 1, 4), ldxW(5, 1, 8)];
  const eff = effectiveRules(rules);
  for (let i = eff.length - 1; i >= 0; i--) {
    const b = ruleBlock(eff[i]);
    out.push(...b.insns);
    if (b.final) return out;
  }
  out.push(mov64Imm(0, 0), exit());
  return out;
}

/** Host byte order, without loading node:os for it (every create loads this module). */
const HOST_LE = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** struct bpf_insn[] in host byte order. */
export function encode(insns: Insn[]): Buffer {
  const le = HOST_LE;
  const buf = Buffer.alloc(insns.length * 8);
  insns.forEach((ins, i) => {
    const o = i * 8;
    buf.writeUInt8(ins.code, o);
    buf.writeUInt8(le ? (ins.src << 4) | ins.dst : (ins.dst << 4) | ins.src, o + 1);
    if (le) {
      buf.writeInt16LE(ins.off, o + 2);
      buf.writeInt32LE(ins.imm, o + 4);
    } else {
      buf.writeInt16BE(ins.off, o + 2);
      buf.writeInt32BE(ins.imm, o + 4);
    }
  });
  return buf;
}

export function deviceFilterProgram(rules: DeviceRule[]): Buffer {
  return encode(deviceFilterInsns(rules));
}

/** A readable listing (tests, debugging): "ldxw r2, [r1+0]", "jne r4, 1, +3", ... */
export function disassemble(insns: Insn[]): string[] {
  const off = (o: number): string => (o >= 0 ? `+${o}` : String(o));
  return insns.map((i) => {
    switch (i.code) {
      case BPF_LDX | BPF_MEM | BPF_W:
        return `ldxw r${i.dst}, [r${i.src}+${i.off}]`;
      case BPF_ALU | BPF_AND | BPF_K:
        return `and32 r${i.dst}, 0x${(i.imm >>> 0).toString(16)}`;
      case BPF_ALU | BPF_RSH | BPF_K:
        return `rsh32 r${i.dst}, ${i.imm}`;
      case BPF_ALU | BPF_MOV | BPF_X:
        return `mov32 r${i.dst}, r${i.src}`;
      case BPF_ALU64 | BPF_MOV | BPF_K:
        return `mov r${i.dst}, ${i.imm}`;
      case BPF_JMP | BPF_JNE | BPF_K:
        return `jne r${i.dst}, ${i.imm}, ${off(i.off)}`;
      case BPF_JMP | BPF_JNE | BPF_X:
        return `jne r${i.dst}, r${i.src}, ${off(i.off)}`;
      case BPF_JMP | BPF_EXIT:
        return 'exit';
      default:
        return `.insn 0x${i.code.toString(16)}`;
    }
  });
}

/**
 * What the program answers for one access (a reference interpreter of the
 * generated code, for tests): true = allowed.
 */
export function evaluate(insns: Insn[], type: 'b' | 'c', major: number, minor: number, access: string): boolean {
  const access_type = (accessMask(access) << 16) | DEVCG_DEV[type];
  const ctx = [access_type >>> 0, major >>> 0, minor >>> 0];
  const r = new Array<number>(11).fill(0);
  for (let pc = 0, steps = 0; pc < insns.length && steps < 10_000; pc++, steps++) {
    const i = insns[pc];
    switch (i.code) {
      case BPF_LDX | BPF_MEM | BPF_W:
        r[i.dst] = ctx[i.off / 4];
        break;
      case BPF_ALU | BPF_AND | BPF_K:
        r[i.dst] = (r[i.dst] & i.imm) >>> 0;
        break;
      case BPF_ALU | BPF_RSH | BPF_K:
        r[i.dst] = r[i.dst] >>> i.imm;
        break;
      case BPF_ALU | BPF_MOV | BPF_X:
        r[i.dst] = r[i.src] >>> 0;
        break;
      case BPF_ALU64 | BPF_MOV | BPF_K:
        r[i.dst] = i.imm;
        break;
      case BPF_JMP | BPF_JNE | BPF_K:
        if (r[i.dst] !== i.imm) pc += i.off;
        break;
      case BPF_JMP | BPF_JNE | BPF_X:
        if (r[i.dst] !== r[i.src]) pc += i.off;
        break;
      case BPF_JMP | BPF_EXIT:
        return r[0] === 1;
      default:
        throw new Error(`evaluate: unknown opcode 0x${i.code.toString(16)}`);
    }
  }
  throw new Error('evaluate: fell off the end of the program');
}
