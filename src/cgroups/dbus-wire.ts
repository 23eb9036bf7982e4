/**
 * The D-Bus wire format, just the part the systemd cgroup driver speaks:
 * little-endian messages, the basic types, arrays, structs, variants and
 * dict entries (https://dbus.freedesktop.org/doc/dbus-specification.html
 * "Message Protocol"). Pure: no I/O, unit-tested against hand-made bytes.
 */

export const enum MsgType {
  MethodCall = 1,
  MethodReturn = 2,
  Error = 3,
  Signal = 4,
}

/** A value of D-Bus type `v`: its signature and the value. */
export interface Variant {
  sig: string;
  value: DbusValue;
}
export type DbusValue = string | number | bigint | boolean | Variant | DbusValue[];

export interface Message {
  type: MsgType;
  serial: number;
  path?: string;
  iface?: string;
  member?: string;
  errorName?: string;
  replySerial?: number;
  destination?: string;
  sender?: string;
  signature: string;
  body: DbusValue[];
}

const FIELD = { path: 1, iface: 2, member: 3, errorName: 4, replySerial: 5, destination: 6, sender: 7, signature: 8 } as const;

/** Splits a signature into its complete types ("sa(sv)" → ["s", "a(sv)"]). */
export function splitSignature(sig: string): string[] {
  const out: string[] = [];
  let i = 0;
  while (i < sig.length) {
    const end = typeEnd(sig, i);
    out.push(sig.slice(i, end));
    i = end;
  }
  return out;
}

function typeEnd(sig: string, i: number): number {
  const c = sig[i];
  if (c === 'a') return typeEnd(sig, i + 1);
  if (c === '(' || c === '{') {
    const close = c === '(' ? ')' : '}';
    let j = i + 1;
    while (sig[j] !== close) {
      if (j >= sig.length) throw new Error(`D-Bus signature ${sig}: unbalanced ${c}`);
      j = typeEnd(sig, j);
    }
    return j + 1;
  }
  if (!c || !'ybnqiuxtdsogvh'.includes(c)) throw new Error(`D-Bus signature ${sig}: unsupported type '${c ?? ''}'`);
  return i + 1;
}

function alignOf(t: string): number {
  switch (t[0]) {
    case 'y':
    case 'g':
    case 'v':
      return 1;
    case 'n':
    case 'q':
      return 2;
    case 'x':
    case 't':
    case 'd':
    case '(':
    case '{':
      return 8;
    default:
      return 4; // b i u h s o a
  }
}

class Writer {
  private buf = Buffer.alloc(256);
  len = 0;

  private room(n: number): void {
    if (this.len + n <= this.buf.length) return;
    const next = Buffer.alloc(Math.max(this.buf.length * 2, this.len + n));
    this.buf.copy(next, 0, 0, this.len);
    this.buf = next;
  }
  align(n: number): void {
    const pad = (n - (this.len % n)) % n;
    this.room(pad);
    this.buf.fill(0, this.len, this.len + pad);
    this.len += pad;
  }
  u8(v: number): void {
    this.room(1);
    this.buf.writeUInt8(v, this.len++);
  }
  u32(v: number): void {
    this.align(4);
    this.room(4);
    this.buf.writeUInt32LE(v >>> 0, this.len);
    this.len += 4;
  }
  setU32(at: number, v: number): void {
    this.buf.writeUInt32LE(v >>> 0, at);
  }
  bytes(b: Buffer): void {
    this.room(b.length);
    b.copy(this.buf, this.len);
    this.len += b.length;
  }
  result(): Buffer {
    return this.buf.subarray(0, this.len);
  }

  value(t: string, v: DbusValue): void {
    switch (t[0]) {
      case 'y':
        return this.u8(Number(v));
      case 'b':
        return this.u32(v ? 1 : 0);
      case 'n':
      case 'q':
        this.align(2);
        this.room(2);
        if (t === 'n') this.buf.writeInt16LE(Number(v), this.len);
        else this.buf.writeUInt16LE(Number(v), this.len);
        this.len += 2;
        return;
      case 'i':
        this.align(4);
        this.room(4);
        this.buf.writeInt32LE(Number(v), this.len);
        this.len += 4;
        return;
      case 'u':
      case 'h':
        return this.u32(Number(v));
      case 'x':
      case 't':
        this.align(8);
        this.room(8);
        if (t === 'x') this.buf.writeBigInt64LE(BigInt(v as number | bigint), this.len);
        else this.buf.writeBigUInt64LE(BigInt(v as number | bigint), this.len);
        this.len += 8;
        return;
      case 'd':
        this.align(8);
        this.room(8);
        this.buf.writeDoubleLE(Number(v), this.len);
        this.len += 8;
        return;
      case 's':
      case 'o': {
        const b = Buffer.from(String(v), 'utf8');
        this.u32(b.length);
        this.bytes(b);
        return this.u8(0);
      }
      case 'g': {
        const b = Buffer.from(String(v), 'ascii');
        this.u8(b.length);
        this.bytes(b);
        return this.u8(0);
      }
      case 'v': {
        const variant = v as Variant;
        this.value('g', variant.sig);
        return this.value(variant.sig, variant.value);
      }
      case 'a': {
        const elem = t.slice(1);
        this.u32(0);
        const lenAt = this.len - 4;
        this.align(alignOf(elem)); // padding before the first element is not counted
        const start = this.len;
        for (const e of v as DbusValue[]) this.value(elem, e);
        this.setU32(lenAt, this.len - start);
        return;
      }
      case '(':
      case '{': {
        this.align(8);
        const fields = splitSignature(t.slice(1, -1));
        const vals = v as DbusValue[];
        fields.forEach((f, i) => this.value(f, vals[i]));
        return;
      }
      default:
        throw new Error(`D-Bus: cannot write type ${t}`);
    }
  }
}

class Reader {
  constructor(
    private readonly buf: Buffer,
    public pos: number,
  ) {}

  align(n: number): void {
    this.pos += (n - (this.pos % n)) % n;
  }
  need(n: number): void {
    if (this.pos + n > this.buf.length) throw new Error('D-Bus message truncated');
  }
  u32(): number {
    this.align(4);
    this.need(4);
    const v = this.buf.readUInt32LE(this.pos);
    this.pos += 4;
    return v;
  }

  value(t: string): DbusValue {
    switch (t[0]) {
      case 'y':
        this.need(1);
        return this.buf.readUInt8(this.pos++);
      case 'b':
        return this.u32() !== 0;
      case 'n':
      case 'q': {
        this.align(2);
        this.need(2);
        const v = t === 'n' ? this.buf.readInt16LE(this.pos) : this.buf.readUInt16LE(this.pos);
        this.pos += 2;
        return v;
      }
      case 'i': {
        this.align(4);
        this.need(4);
        const v = this.buf.readInt32LE(this.pos);
        this.pos += 4;
        return v;
      }
      case 'u':
      case 'h':
        return this.u32();
      case 'x':
      case 't': {
        this.align(8);
        this.need(8);
        const v = t === 'x' ? this.buf.readBigInt64LE(this.pos) : this.buf.readBigUInt64LE(this.pos);
        this.pos += 8;
        return v;
      }
      case 'd': {
        this.align(8);
        this.need(8);
        const v = this.buf.readDoubleLE(this.pos);
        this.pos += 8;
        return v;
      }
      case 's':
      case 'o': {
        const n = this.u32();
        this.need(n + 1);
        const s = this.buf.toString('utf8', this.pos, this.pos + n);
        this.pos += n + 1;
        return s;
      }
      case 'g': {
        this.need(1);
        const n = this.buf.readUInt8(this.pos++);
        this.need(n + 1);
        const s = this.buf.toString('ascii', this.pos, this.pos + n);
        this.pos += n + 1;
        return s;
      }
      case 'v': {
        const sig = this.value('g') as string;
        return { sig, value: this.value(sig) };
      }
      case 'a': {
        const elem = t.slice(1);
        const n = this.u32();
        this.align(alignOf(elem));
        const end = this.pos + n;
        this.need(n);
        const out: DbusValue[] = [];
        while (this.pos < end) out.push(this.value(elem));
        return out;
      }
      case '(':
      case '{':
        this.align(8);
        return splitSignature(t.slice(1, -1)).map((f) => this.value(f));
      default:
        throw new Error(`D-Bus: cannot read type ${t}`);
    }
  }
}

/** One message, ready for the socket. */
export function encodeMessage(m: Message): Buffer {
  const body = new Writer();
  const types = splitSignature(m.signature);
  types.forEach((t, i) => body.value(t, m.body[i]));
  const w = new Writer();
  w.u8(0x6c); // 'l': little endian
  w.u8(m.type);
  w.u8(0); // flags
  w.u8(1); // protocol version
  w.u32(body.len);
  w.u32(m.serial);
  const fields: DbusValue[] = [];
  const add = (code: number, sig: string, value: string | number | undefined): void => {
    if (value !== undefined) fields.push([code, { sig, value }]);
  };
  add(FIELD.path, 'o', m.path);
  add(FIELD.iface, 's', m.iface);
  add(FIELD.member, 's', m.member);
  add(FIELD.errorName, 's', m.errorName);
  add(FIELD.replySerial, 'u', m.replySerial);
  add(FIELD.destination, 's', m.destination);
  add(FIELD.sender, 's', m.sender);
  if (m.signature) add(FIELD.signature, 'g', m.signature);
  w.value('a(yv)', fields);
  w.align(8);
  w.bytes(body.result());
  return Buffer.from(w.result());
}

/** Bytes needed for the message at the start of buf, or 0 while its fixed header is incomplete. */
export function messageLength(buf: Buffer): number {
  if (buf.length < 16) return 0;
  if (buf[0] !== 0x6c) throw new Error(`D-Bus: big-endian or malformed message (first byte 0x${buf[0].toString(16)})`);
  const bodyLen = buf.readUInt32LE(4);
  const fieldsLen = buf.readUInt32LE(12);
  const headerLen = 16 + fieldsLen + ((8 - ((16 + fieldsLen) % 8)) % 8);
  return headerLen + bodyLen;
}

/** Parses one complete message (messageLength(buf) bytes). */
export function decodeMessage(buf: Buffer): Message {
  const r = new Reader(buf, 12);
  const type = buf.readUInt8(1) as MsgType;
  const serial = buf.readUInt32LE(8);
  const fields = r.value('a(yv)') as [number, Variant][];
  const m: Message = { type, serial, signature: '', body: [] };
  for (const [code, v] of fields) {
    if (code === FIELD.path) m.path = v.value as string;
    else if (code === FIELD.iface) m.iface = v.value as string;
    else if (code === FIELD.member) m.member = v.value as string;
    else if (code === FIELD.errorName) m.errorName = v.value as string;
    else if (code === FIELD.replySerial) m.replySerial = v.value as number;
    else if (code === FIELD.destination) m.destination = v.value as string;
    else if (code === FIELD.sender) m.sender = v.value as string;
    else if (code === FIELD.signature) m.signature = v.value as string;
  }
  r.align(8);
  m.body = splitSignature(m.signature).map((t) => r.value(t));
  return m;
}
