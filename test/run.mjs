#!/usr/bin/env node
// The test command's runner (`npm test` → scripts/test.sh → node test/run.mjs).
//
//   node test/run.mjs [unit] [integration] [conformance]
//   TSRUN_TEST_ONLY=<regex> limits the uvu files to those whose path matches.
//
// Runs every compiled uvu file (dist/test/unit/**/*.test.js, then, as root,
// dist/test/integration/**/*.test.js) in its own node process, serially, with
// a per-file timeout; then the conformance suite against tsrun (one test per
// case). Ends with exactly one line `N passed, N failed, N skipped` and
// exits non-zero if anything failed or nothing ran.
//
// Skips: a test that cannot run on this host prints one line
// `SKIP: <title>: <reason>` and ends (test/helpers/host.ts: skip, hostTest);
// uvu counts it as passed, so each such line moves one test from passed to
// skipped. uvu's own test.skip (no reason) counts as skipped too. A
// conformance case that throws SkipCase is status "skip". The reasons are
// listed above the closing line.
//
// The host is left as found: the cgroup layout (controllers per hierarchy,
// v1 mounts, the cgroup2 controllers and root subtree_control) is snapshot
// before the run and after every file; a difference is the failed test
// "host left as found", naming the file after which it appeared.
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const FILE_TIMEOUT_MS = Number(process.env.TSRUN_TEST_TIMEOUT_MS || 180_000);
const CONFORMANCE_TIMEOUT_MS = Number(process.env.TSRUN_CONFORMANCE_TIMEOUT_MS || 900_000);
const isRoot = process.getuid?.() === 0;

const SUITES = ['unit', 'integration', 'conformance'];
const args = process.argv.slice(2);
for (const a of args) {
  if (!SUITES.includes(a)) {
    console.error(`usage: node test/run.mjs [${SUITES.join('] [')}]  (unknown: ${a})`);
    process.exit(2);
  }
}
const selected = new Set(args.length ? args : SUITES);

function childEnv() {
  const env = { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0' };
  delete env.NODE_EXTRA_CA_CERTS;
  delete env.NODE_OPTIONS;
  return env;
}

function findTests(dir) {
  if (!existsSync(dir)) return [];
  const out = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...findTests(p));
    else if (e.isFile() && e.name.endsWith('.test.js')) out.push(p);
  }
  return out.sort();
}

// Strip ANSI escapes in case a child ignores NO_COLOR.
const stripAnsi = (s) => s.replace(/\x1b\[[0-9;]*[A-Za-z]/g, '');

/** Runs one command in its own process group, streaming its output; kills the group on timeout. */
function runChild(cmd, argv, timeoutMs, { echo = true } = {}) {
  return new Promise((resolve) => {
    const child = spawn(cmd, argv, { cwd: ROOT, env: childEnv(), stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let output = '';
    let stdout = '';
    let timedOut = false;
    const onData = (stream) => (buf) => {
      output += buf.toString();
      if (stream === process.stdout) stdout += buf.toString();
      if (echo) stream.write(buf);
    };
    child.stdout.on('data', onData(process.stdout));
    child.stderr.on('data', onData(process.stderr));
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }, timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      resolve({ code: null, signal: null, output: output + String(err), stdout, timedOut });
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, output, stdout, timedOut });
    });
  });
}

/** uvu's per-file summary: `Total: N`, `Passed: N`, `Skipped: N`. */
function parseUvu(output) {
  const text = stripAnsi(output);
  const num = (label) => {
    const m = [...text.matchAll(new RegExp(`^\\s*${label}:\\s+(\\d+)`, 'gm'))];
    return m.length ? Number(m[m.length - 1][1]) : undefined;
  };
  const total = num('Total');
  const passed = num('Passed');
  const skipped = num('Skipped') ?? 0;
  if (total === undefined || passed === undefined) return undefined;
  return { total, passed, skipped };
}

const totals = { passed: 0, failed: 0, skipped: 0 };
const failures = [];
const skips = [];

const SKIP_LINE = /^SKIP: (.+)$/gm;

function readOpt(p) {
  try {
    return readFileSync(p, 'utf8');
  } catch {
    return '';
  }
}

/**
 * The host's cgroup layout as comparable lines: which controllers share a v1
 * hierarchy (/proc/cgroups), the cgroup mounts of this mount namespace, and
 * the cgroup2 controllers and root subtree_control.
 */
function cgroupLayout() {
  const out = [];
  const byHier = new Map();
  for (const line of readOpt('/proc/cgroups').split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const [name, hier, , enabled] = line.split(/\s+/);
    if (enabled !== '1') continue;
    const k = hier === '0' ? 'cgroup2 or unmounted' : 'v1 hierarchy';
    const key = hier === '0' ? '0' : hier;
    if (!byHier.has(key)) byHier.set(key, { k, names: [] });
    byHier.get(key).names.push(name);
  }
  for (const { k, names } of [...byHier.values()].sort((a, b) => a.names[0].localeCompare(b.names[0]))) out.push(`controllers ${names.sort().join(',')}: ${k}`);
  const mounts = [];
  let unified;
  for (const line of readOpt('/proc/self/mountinfo').split('\n')) {
    const [pre, post] = line.split(' - ');
    if (!post) continue;
    const [fsType, , opts] = post.split(' ');
    if (fsType !== 'cgroup' && fsType !== 'cgroup2') continue;
    const [, , , root, mp] = pre.split(' ');
    // The hierarchies themselves: a container's bind mounts of sub-cgroups elsewhere are not the layout.
    if (root !== '/' && !mp.startsWith('/sys/fs/cgroup')) continue;
    mounts.push(`mount ${fsType} ${mp} ${fsType === 'cgroup' ? opts.split(',').filter((o) => o !== 'rw' && o !== 'ro').sort().join(',') : ''}`.trimEnd());
    if (fsType === 'cgroup2' && !unified) unified = mp;
  }
  out.push(...mounts.sort());
  if (unified) {
    out.push(`cgroup2 controllers: ${readOpt(`${unified}/cgroup.controllers`).trim()}`);
    out.push(`cgroup2 root subtree_control: ${readOpt(`${unified}/cgroup.subtree_control`).trim()}`);
  }
  return out;
}

const layoutBefore = cgroupLayout();
let layoutSeen = layoutBefore;
const layoutChanges = [];

/** Compares the layout with the one seen last; records what changed after `what`. */
function checkLayout(what) {
  const now = cgroupLayout();
  const gone = layoutSeen.filter((l) => !now.includes(l));
  const added = now.filter((l) => !layoutSeen.includes(l));
  if (gone.length || added.length) {
    layoutChanges.push(`after ${what}: ${[...gone.map((l) => `- ${l}`), ...added.map((l) => `+ ${l}`)].join('; ')}`);
    console.log(`# host cgroup layout changed after ${what}:\n${[...gone.map((l) => `#   - ${l}`), ...added.map((l) => `#   + ${l}`)].join('\n')}`);
  }
  layoutSeen = now;
}
if (process.env.TSRUN_BUILD_FAILED === '1') {
  // scripts/test.sh could not build everything: that is a failure of the suite.
  totals.failed += 1;
  failures.push('build: npm install / npm run build failed (see the setup output)');
}

async function runUvuFiles(kind) {
  // TSRUN_TEST_ONLY=<regex>: only the files whose path matches (development runs).
  const only = process.env.TSRUN_TEST_ONLY ? new RegExp(process.env.TSRUN_TEST_ONLY) : undefined;
  const files = findTests(join(ROOT, 'dist', 'test', kind)).filter((f) => !only || only.test(f));
  if (files.length === 0) {
    console.log(`# ${kind}: no compiled test files under dist/test/${kind}`);
    return;
  }
  for (const file of files) {
    const rel = relative(ROOT, file);
    console.log(`\n# ${rel}`);
    const r = await runChild(process.execPath, [file], FILE_TIMEOUT_MS);
    checkLayout(rel);
    const s = parseUvu(r.output);
    const skipLines = [...stripAnsi(r.stdout).matchAll(SKIP_LINE)].map((m) => m[1].trim());
    for (const line of skipLines) skips.push(`${rel}: ${line}`);
    if (r.timedOut || !s) {
      const why = r.timedOut ? `timed out after ${FILE_TIMEOUT_MS} ms` : `crashed (exit ${r.code}${r.signal ? ', ' + r.signal : ''}) without a uvu summary`;
      totals.passed += s ? Math.max(0, s.passed - skipLines.length) : 0;
      totals.skipped += s ? skipLines.length : 0;
      totals.failed += 1;
      failures.push(`${rel}: ${why}`);
      console.log(`# ${rel}: ${why}`);
      continue;
    }
    // uvu's Total counts the tests that ran (its skips are not in it); a SKIP line is a test that passed by returning early.
    const failed = Math.max(0, s.total - s.passed);
    const skippedHere = Math.min(skipLines.length, s.passed);
    totals.passed += s.passed - skippedHere;
    totals.skipped += skippedHere + s.skipped;
    if (s.skipped > 0) skips.push(`${rel}: ${s.skipped} test(s) skipped with uvu's test.skip (no reason given)`);
    totals.failed += failed;
    if (failed > 0) failures.push(`${rel}: ${failed} failed`);
    else if (r.code !== 0) {
      // uvu exits 1 on failure; a non-zero exit with a clean summary is still a failure.
      totals.failed += 1;
      failures.push(`${rel}: exit ${r.code} despite a clean summary`);
    }
  }
}

async function runConformance() {
  const runner = join(ROOT, 'dist', 'conformance', 'run.js');
  if (!existsSync(runner)) {
    totals.failed += 1;
    failures.push('conformance: dist/conformance/run.js not built');
    return;
  }
  console.log('\n# conformance (tsrun)');
  const r = await runChild(process.execPath, [runner, '--runtime', 'tsrun', '--json'], CONFORMANCE_TIMEOUT_MS, { echo: false });
  checkLayout('conformance');
  let report;
  try {
    report = JSON.parse(r.stdout);
  } catch {
    totals.failed += 1;
    const why = r.timedOut ? `timed out after ${CONFORMANCE_TIMEOUT_MS} ms` : `runner crashed (exit ${r.code})`;
    failures.push(`conformance: ${why}`);
    console.log(`# conformance: ${why}\n${r.output.slice(-2000)}`);
    return;
  }
  for (const res of report.results) {
    if (res.status === 'pass') {
      totals.passed += 1;
      console.log(`  ✓ ${res.case} (${res.ms} ms)`);
    } else if (res.status === 'skip' || res.status === 'n/a') {
      totals.skipped += 1;
      skips.push(`conformance ${res.case}: ${res.message}`);
      console.log(`SKIP: ${res.case}: ${res.message}`);
    } else {
      // An absent tsrun (not built) is a failure of the test command, not a skip.
      totals.failed += 1;
      failures.push(`conformance ${res.case}: ${res.status === 'absent' ? 'tsrun absent: ' : ''}${res.message}`);
      console.log(`  ✘ ${res.case}: ${res.message}`);
    }
  }
}

if (selected.has('unit')) await runUvuFiles('unit');
if (selected.has('integration')) {
  if (isRoot) await runUvuFiles('integration');
  else console.log('# integration: skipped (needs root)');
}
if (selected.has('conformance')) {
  if (isRoot) await runConformance();
  else console.log('# conformance: skipped (needs root)');
}

// The host as found: one more test, whatever ran.
if (layoutChanges.length || cgroupLayout().join('\n') !== layoutBefore.join('\n')) {
  totals.failed += 1;
  failures.push(`host left as found: the cgroup layout changed during the run (${layoutChanges.join(' | ') || 'at the end'})`);
} else {
  totals.passed += 1;
  console.log('\n  ✓ host left as found (cgroup layout unchanged)');
}

if (skips.length) {
  console.log('\nskipped (this host could not check):');
  for (const s of skips) console.log(`  ${s}`);
}
if (failures.length) {
  console.log('\nfailures:');
  for (const f of failures) console.log(`  ${f}`);
}
const ran = totals.passed + totals.failed;
console.log(`\n${totals.passed} passed, ${totals.failed} failed, ${totals.skipped} skipped`);
if (ran === 0) console.error('no tests ran');
process.exitCode = totals.failed > 0 || ran === 0 ? 1 : 0;
