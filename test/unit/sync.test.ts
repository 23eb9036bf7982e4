/** The parent's side of the init protocol (src/lifecycle/sync.ts), fed from a file standing in for the socket. */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { MAX_INIT_FRAME, awaitReady } from '../../src/lifecycle/sync';
import { Msg } from '../../src/plan/ops';

function fromBytes(bytes: Buffer, fn: (fd: number) => void): void {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsrun-sync-'));
  const file = path.join(dir, 'socket');
  fs.writeFileSync(file, bytes);
  const fd = fs.openSync(file, 'r');
  try {
    fn(fd);
  } finally {
    fs.closeSync(fd);
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const header = (type: number, len: number): Buffer => {
  const b = Buffer.alloc(8);
  b.writeUInt32LE(type, 0);
  b.writeUInt32LE(len, 4);
  return b;
};

test('awaitReady: a frame longer than MAX_INIT_FRAME is refused before it is allocated', () => {
  fromBytes(header(Msg.Error, 16 << 20), (fd) => {
    assert.throws(() => awaitReady(fd), new RegExp(`container init sent a message of ${16 << 20} bytes \\(type ${Msg.Error}; at most ${MAX_INIT_FRAME}\\)`));
  });
});

test('awaitReady: READY returns; MSG_ERROR is the init\'s line; EOF says the init exited', () => {
  fromBytes(header(Msg.Ready, 0), (fd) => awaitReady(fd));
  const err = Buffer.concat([header(Msg.Error, 4 + 11), Buffer.from([2, 0, 0, 0]), Buffer.from('mount /x: y')]);
  fromBytes(err, (fd) => assert.throws(() => awaitReady(fd), /^container init: mount \/x: y$/));
  fromBytes(Buffer.alloc(0), (fd) => assert.throws(() => awaitReady(fd), /exited before it was ready/));
});

test.run();
