import { Msg, PlanStep } from './ops';

/** Encodes plan steps in the framing of addon/common/plan_wire.h. */
export function encodePlan(steps: readonly PlanStep[]): Buffer {
  return writePlan(steps, 0);
}

/** The MSG_PLAN frame of `steps`, built in one buffer (a plan has hundreds of fields). */
export function framePlan(steps: readonly PlanStep[]): Buffer {
  const buf = writePlan(steps, 8);
  buf.writeUInt32LE(Msg.Plan, 0);
  buf.writeUInt32LE(buf.length - 8, 4);
  return buf;
}

/** Sizes the plan, then writes it after `head` reserved bytes: one allocation, no per-field buffers. */
function writePlan(steps: readonly PlanStep[], head: number): Buffer {
  let size = head + 4;
  for (const step of steps) {
    size += 8;
    for (const f of step.fields) size += 4 + (typeof f === 'string' ? Buffer.byteLength(f, 'utf8') : f.length);
  }
  const buf = Buffer.allocUnsafe(size); // every byte is written below
  let off = buf.writeUInt32LE(steps.length, head);
  for (const step of steps) {
    off = buf.writeUInt32LE(step.op >>> 0, off);
    off = buf.writeUInt32LE(step.fields.length, off);
    for (const f of step.fields) {
      const n = typeof f === 'string' ? buf.write(f, off + 4, 'utf8') : f.copy(buf, off + 4);
      buf.writeUInt32LE(n, off);
      off += 4 + n;
    }
  }
  if (off !== size) throw new Error(`plan encoding: wrote ${off} of ${size} bytes`);
  return buf;
}

/** Frames one message: u32 type | u32 length | payload. */
export function frame(type: Msg, payload: Buffer = Buffer.alloc(0)): Buffer {
  return Buffer.concat([u32(type), u32(payload.length), payload]);
}

/** Decodes the plan again (for tests and --debug dumps). */
export function decodePlan(buf: Buffer): PlanStep[] {
  let off = 0;
  const next = (): number => {
    const v = buf.readUInt32LE(off);
    off += 4;
    return v;
  };
  const count = next();
  const steps: PlanStep[] = [];
  for (let i = 0; i < count; i++) {
    const op = next();
    const n = next();
    const fields: Buffer[] = [];
    for (let j = 0; j < n; j++) {
      const len = next();
      fields.push(buf.subarray(off, off + len));
      off += len;
    }
    steps.push({ op, fields });
  }
  if (off !== buf.length) throw new Error(`plan has ${buf.length - off} trailing bytes`);
  return steps;
}

function u32(v: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(v >>> 0);
  return b;
}
