import { Msg, PlanStep } from './ops';

/** Encodes plan steps in the framing of addon/common/plan_wire.h. */
export function encodePlan(steps: readonly PlanStep[]): Buffer {
  return Buffer.from(planBytes(steps), 'latin1');
}

/** The MSG_PLAN frame of `steps`. */
export function framePlan(steps: readonly PlanStep[]): Buffer {
  const body = planBytes(steps);
  return Buffer.from(u32s(Msg.Plan) + u32s(body.length) + body, 'latin1');
}

const NON_ASCII = /[^\x00-\x7f]/;

/** A little-endian u32 as four one-byte chars. */
const u32s = (v: number): string => String.fromCharCode(v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff);

/** A field's bytes as one-byte chars: its UTF-8 encoding (ASCII as is) or the buffer's bytes. */
function fieldBytes(f: string | Buffer): string {
  if (typeof f !== 'string') return f.toString('latin1');
  return NON_ASCII.test(f) ? Buffer.from(f, 'utf8').toString('latin1') : f;
}

/**
 * The plan as a string of one-byte chars, encoded to a Buffer once (latin1):
 * a plan has hundreds of fields, and a Buffer operation per field cost a
 * millisecond of every create.
 */
function planBytes(steps: readonly PlanStep[]): string {
  let s = u32s(steps.length);
  for (const step of steps) {
    s += u32s(step.op) + u32s(step.fields.length);
    for (const f of step.fields) {
      const b = fieldBytes(f);
      s += u32s(b.length) + b;
    }
  }
  return s;
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
