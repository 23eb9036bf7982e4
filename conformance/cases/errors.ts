/** Invalid configurations: create must fail and leave no container behind (runtime.md "create", config.md). */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Case, check, Harness } from '../harness';

function expectNoContainer(h: Harness): void {
  const s = h.run(['state', h.id]);
  check(s.status !== 0, `state of the failed container succeeded: ${s.stdout.slice(0, 200)}`);
  const l = h.run(['list', '-q']);
  check(l.status === 0, `list -q failed: ${l.stderr.trim()}`);
  check(!l.stdout.split('\n').includes(h.id), `list still shows ${h.id}`);
}

function expectCreateFails(h: Harness): void {
  const r = h.tryCreate();
  check(r.status !== 0 && r.status !== null, `create succeeded (exit ${r.status}${r.signal ? ' ' + r.signal : ''})`);
  expectNoContainer(h);
}

export const errorCases: Case[] = [
  {
    name: 'bad-config-json',
    description: 'create with a config.json that is not JSON fails, leaves no container',
    run(h) {
      h.makeBundle();
      fs.writeFileSync(path.join(h.bundle, 'config.json'), '{"ociVersion": "1.0.2", "process": ');
      expectCreateFails(h);
    },
  },
  {
    name: 'bad-config-no-process',
    description: 'create without process fails ("This operation MUST generate an error if process was not set")',
    run(h) {
      h.makeBundle({
        edit: (c) => {
          delete c.process;
        },
      });
      expectCreateFails(h);
    },
  },
  {
    name: 'bad-config-missing-args0',
    description: 'create of a process whose args[0] is not in the rootfs fails, leaves no container',
    run(h) {
      h.makeBundle({ args: ['/no/such/binary'] });
      expectCreateFails(h);
    },
  },
  {
    name: 'bad-bundle-missing-rootfs',
    description: 'create with root.path missing fails, leaves no container',
    run(h) {
      h.makeBundle({
        edit: (c) => {
          c.root.path = 'no-such-rootfs';
        },
      });
      expectCreateFails(h);
    },
  },
];
