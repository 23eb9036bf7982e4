/**
 * A blocking D-Bus connection to systemd, for the few calls the systemd
 * cgroup driver makes (create and delete are synchronous code). systemd's
 * private socket first (root, no bus daemon in between, as systemctl does),
 * else the system bus. Every read is bounded by a timeout.
 */
import * as fs from 'node:fs';
import { constants } from 'node:os';
import { TsrunError } from '../errors';
import { recvFds, unixConnect } from '../native/addon';
import { type DbusValue, type Message, MsgType, decodeMessage, encodeMessage, messageLength } from './dbus-wire';

export const SYSTEMD_PRIVATE_SOCKET = '/run/systemd/private';
const SYSTEM_BUS_SOCKET = '/run/dbus/system_bus_socket';
const TIMEOUT_MS = 30_000;
const { ETIMEDOUT } = constants.errno;

/** An error reply: its D-Bus name (org.freedesktop.systemd1.NoSuchUnit …) and message. */
export class DbusError extends TsrunError {
  constructor(
    readonly dbusName: string,
    message: string,
  ) {
    super(message);
  }
}

/** The socket path of DBUS_SYSTEM_BUS_ADDRESS ("unix:path=/x,guid=…"), else the default one. */
export function systemBusPath(env: NodeJS.ProcessEnv = process.env): string {
  const addr = env.DBUS_SYSTEM_BUS_ADDRESS;
  if (addr) {
    for (const part of addr.split(';')) {
      const m = /^unix:(?:.*,)?path=([^,]+)/.exec(part);
      if (m) return decodeURIComponent(m[1]);
    }
  }
  return SYSTEM_BUS_SOCKET;
}

export class DbusConnection {
  private serial = 0;
  private buf = Buffer.alloc(0);
  /** Signals that arrived while waiting for a reply. */
  readonly signals: Message[] = [];

  private constructor(
    private readonly fd: number,
    readonly where: string,
    /** Through a bus daemon (which needs Hello, and an AddMatch before it forwards signals). */
    readonly viaBus: boolean,
    private readonly destination: string,
  ) {}

  /** systemd's private socket if it is there, else the system bus (with Hello). */
  static toSystemd(privateSocket = SYSTEMD_PRIVATE_SOCKET): DbusConnection {
    let fd = -1;
    let where = privateSocket;
    let bus = false;
    try {
      fd = unixConnect(privateSocket);
    } catch {
      where = systemBusPath();
      bus = true;
      try {
        fd = unixConnect(where);
      } catch (e) {
        throw new TsrunError(`systemd cgroup driver: cannot connect to systemd (${privateSocket}) nor to the system bus (${where}): ${(e as Error).message}`);
      }
    }
    // systemd drops a call without a destination, even on its private socket.
    const c = new DbusConnection(fd, where, bus, 'org.freedesktop.systemd1');
    try {
      c.auth();
      if (bus) c.call({ path: '/org/freedesktop/DBus', iface: 'org.freedesktop.DBus', member: 'Hello', destination: 'org.freedesktop.DBus' });
    } catch (e) {
      c.close();
      throw e;
    }
    return c;
  }

  close(): void {
    try {
      fs.closeSync(this.fd);
    } catch {
      /* already closed */
    }
  }

  private fail(what: string, e?: unknown): never {
    throw new TsrunError(`D-Bus (${this.where}): ${what}${e ? `: ${(e as Error).message}` : ''}`);
  }

  /** One read; false when nothing came within timeoutMs. */
  private receive(timeoutMs = TIMEOUT_MS): boolean {
    let r;
    try {
      r = recvFds(this.fd, timeoutMs);
    } catch (e) {
      if ((e as TsrunError).context?.errno === ETIMEDOUT && timeoutMs !== TIMEOUT_MS) return false;
      this.fail('no answer', e);
    }
    for (const fd of r.fds) fs.closeSync(fd);
    if (r.payload.length === 0) this.fail('connection closed');
    this.buf = Buffer.concat([this.buf, r.payload]);
    return true;
  }

  /**
   * SASL EXTERNAL. To systemd, BEGIN goes with AUTH, as systemctl sends it: its server (sd-bus,
   * systemd 252) leaves a message that arrives in the same read as BEGIN unprocessed until more
   * data comes. A bus daemon gets the textbook order (BEGIN after OK).
   */
  private auth(): void {
    const pipelined = !this.viaBus;
    const uid = String(process.getuid?.() ?? 0);
    const auth = `\0AUTH EXTERNAL ${Buffer.from(uid, 'ascii').toString('hex')}\r\n`;
    fs.writeSync(this.fd, Buffer.from(pipelined ? `${auth}BEGIN\r\n` : auth, 'latin1'));
    while (!this.buf.includes('\r\n')) this.receive();
    const line = this.buf.toString('latin1', 0, this.buf.indexOf('\r\n'));
    this.buf = this.buf.subarray(this.buf.indexOf('\r\n') + 2);
    if (!line.startsWith('OK ')) this.fail(`authentication refused (${line})`);
    if (!pipelined) fs.writeSync(this.fd, Buffer.from('BEGIN\r\n', 'latin1'));
  }

  private next(deadline?: number): Message | undefined {
    for (;;) {
      const n = messageLength(this.buf);
      if (n > 0 && this.buf.length >= n) {
        const m = decodeMessage(this.buf.subarray(0, n));
        this.buf = this.buf.subarray(n);
        return m;
      }
      if (deadline === undefined) this.receive();
      else if (!this.receive(Math.max(1, deadline - Date.now()))) return undefined;
    }
  }

  /** A method call to systemd's manager (or as given); returns the reply's body. */
  call(m: { member: string; path?: string; iface?: string; destination?: string; signature?: string; body?: DbusValue[] }): DbusValue[] {
    const serial = ++this.serial;
    const msg: Message = {
      type: MsgType.MethodCall,
      serial,
      path: m.path ?? '/org/freedesktop/systemd1',
      iface: m.iface ?? 'org.freedesktop.systemd1.Manager',
      member: m.member,
      destination: m.destination ?? this.destination,
      signature: m.signature ?? '',
      body: m.body ?? [],
    };
    try {
      fs.writeSync(this.fd, encodeMessage(msg));
    } catch (e) {
      this.fail(`send ${m.member}`, e);
    }
    for (;;) {
      const r = this.next()!;
      if (r.type === MsgType.Signal) {
        this.signals.push(r);
        continue;
      }
      if (r.replySerial !== serial) continue;
      if (r.type === MsgType.Error) throw new DbusError(r.errorName ?? 'org.freedesktop.DBus.Error.Failed', `${m.member}: ${typeof r.body[0] === 'string' ? r.body[0] : r.errorName}`);
      return r.body;
    }
  }

  /** The next signal matching `pred` (queued ones first); undefined after timeoutMs. */
  waitSignal(pred: (m: Message) => boolean, timeoutMs = TIMEOUT_MS): Message | undefined {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const i = this.signals.findIndex(pred);
      if (i >= 0) return this.signals.splice(i, 1)[0];
      const m = this.next(deadline);
      if (!m) return undefined;
      if (m.type === MsgType.Signal) this.signals.push(m);
    }
  }
}
