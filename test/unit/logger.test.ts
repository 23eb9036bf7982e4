import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { configureLogger, formatText, getLogger, Logger, rfc3339 } from '../../src/log/logger';

const LOGGER = path.resolve(__dirname, '../../src/log/logger.js');
const RFC3339_MS = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;
const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'tsrun-log-'));
const pinoLoaded = () => Object.keys(require.cache).some((k) => k.includes(`${path.sep}node_modules${path.sep}pino${path.sep}`));

/** Runs a snippet with the logger in a child; returns its stderr. */
function child(code: string): { stderr: string; stdout: string } {
  const r = spawnSync(process.execPath, ['-e', `const L = require(${JSON.stringify(LOGGER)});\n${code}`]);
  return { stderr: r.stderr.toString(), stdout: r.stdout.toString() };
}

test('pino is not loaded until a JSON line is written', () => {
  const file = path.join(tmp(), 'log.json');
  const log = new Logger({ file, format: 'json', level: 'info' });
  log.debug('filtered out');
  assert.not.ok(pinoLoaded(), 'no pino for a filtered line');
  const t = new Logger({ file: path.join(tmp(), 'log.txt'), format: 'text', level: 'debug' });
  t.info('text line');
  assert.not.ok(pinoLoaded(), 'no pino for text');
  log.info('first');
  assert.ok(pinoLoaded());
});

test('json: one valid JSON object per line, logrus shape, appended', () => {
  const file = path.join(tmp(), 'log.json');
  fs.writeFileSync(file, '{"level":"info","msg":"earlier","time":"2026-01-01T00:00:00Z"}\n');
  const { stderr } = child(`
    const log = L.configureLogger({ file: ${JSON.stringify(file)}, format: 'json', level: 'debug' });
    log.debug('d', { id: 'c1' }); log.info('i'); log.warn('w'); log.error('container does not exist'); log.error('multi "quoted"\\nline');`);
  const lines = fs.readFileSync(file, 'utf8').split('\n');
  assert.is(lines.pop(), '');
  const objs = lines.map((l) => JSON.parse(l));
  assert.is(objs.length, 6);
  assert.equal(objs.map((o) => o.level), ['info', 'debug', 'info', 'warning', 'error', 'error']);
  assert.equal(objs.map((o) => o.msg), ['earlier', 'd', 'i', 'w', 'container does not exist', 'multi "quoted"\nline']);
  for (const o of objs.slice(1)) {
    assert.match(o.time, RFC3339_MS);
    assert.equal(Object.keys(o).sort(), o.id ? ['id', 'level', 'msg', 'time'] : ['level', 'msg', 'time']);
  }
  // Errors also reach stderr as the bare message; nothing else does.
  assert.is(stderr, 'container does not exist\nmulti "quoted"\nline\n');
});

test('level filtering', () => {
  const file = path.join(tmp(), 'log.json');
  child(`const log = L.configureLogger({ file: ${JSON.stringify(file)}, format: 'json', level: 'warn' }); log.debug('d'); log.info('i'); log.warn('w');`);
  assert.equal(fs.readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l).msg), ['w']);
});

test('text format: logrus style', () => {
  const line = formatText('error', 'container "x" does not exist', { id: 'c1', n: 3, s: 'two words' }, new Date('2026-11-25T17:00:00.123Z'));
  assert.is(line, 'time="2026-11-25T17:00:00.123Z" level=error msg="container \\"x\\" does not exist" id=c1 n=3 s="two words"\n');
  assert.is(formatText('warn', 'ok', undefined, new Date(0)), 'time="1970-01-01T00:00:00.000Z" level=warning msg=ok\n');
  const file = path.join(tmp(), 'log.txt');
  child(`const log = L.configureLogger({ file: ${JSON.stringify(file)}, format: 'text', level: 'info' }); log.info('hello world'); log.error('bad');`);
  const lines = fs.readFileSync(file, 'utf8').trim().split('\n');
  assert.match(lines[0], /^time="[^"]+" level=info msg="hello world"$/);
  assert.match(lines[1], /^time="[^"]+" level=error msg=bad$/);
});

test('no --log: the log is stderr; warnings and errors go there once', () => {
  const { stderr, stdout } = child(`const log = L.configureLogger({ format: 'text', level: 'info' }); log.warn('careful'); log.error('broken'); log.debug('hidden');`);
  assert.is(stdout, '');
  const lines = stderr.trim().split('\n');
  assert.is(lines.length, 2);
  assert.match(lines[0], /level=warning msg=careful$/);
  assert.match(lines[1], /level=error msg=broken$/);
  const j = child(`const log = L.configureLogger({ format: 'json', level: 'info' }); log.error('broken');`);
  const o = JSON.parse(j.stderr);
  assert.is(o.level, 'error');
  assert.is(o.msg, 'broken');
  const d = child(`const log = L.configureLogger({ file: '/dev/stderr', format: 'text', level: 'debug' }); log.debug('dbg'); log.error('once');`);
  assert.is(d.stderr.trim().split('\n').length, 2, 'an error is not printed twice when the log is /dev/stderr');
});

test('unwritable log file: the line still reaches stderr', () => {
  const { stderr } = child(`const log = L.configureLogger({ file: '/nonexistent-dir/x/log.json', format: 'json', level: 'info' }); log.error('lost?');`);
  const lines = stderr.trim().split('\n');
  assert.ok(lines.some((l) => l.startsWith('{') && JSON.parse(l).msg === 'lost?'));
});

test('getLogger returns the configured logger', () => {
  const l = configureLogger({ format: 'text', level: 'error' });
  assert.is(getLogger(), l);
});

test('rfc3339 is Date#toISOString, without a Date (leap years, century rules, epoch, far future)', () => {
  const samples = [0, 1, 999, 86_399_999, 951_782_400_000, 951_868_799_999, 4_107_542_399_999, 1_795_651_200_123, 253_402_300_799_999];
  for (let i = 0; i < 2000; i++) samples.push(Math.floor(Math.random() * 253_402_300_799_999));
  for (const ms of samples) assert.is(rfc3339(ms), new Date(ms).toISOString(), String(ms));
  assert.is(rfc3339(new Date('2026-11-25T17:00:00.123Z')), '2026-11-25T17:00:00.123Z');
});

test.run();
