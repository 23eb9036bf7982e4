import { Msg, PlanStep } from './ops';

/** Encodes plan steps in the framing of addon/common/plan_wire.h. */
export function encodePlan(steps: readonly PlanStep[]): Buffer {
  const parts: Buffer[] = [u32(steps.length)];
  for (const step of steps) {
    parts.push(u32(step.op), u32(step.fields.length));
    for (const f of step.fields) {
      const b = typeof f === 'string' ? Buffer.from(f, 'utf8') : f;
      parts.push(u32(b.length), b);
    }
  }
  return Buffer.concat(parts);
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
