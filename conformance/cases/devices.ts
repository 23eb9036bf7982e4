/** linux.devices and the default devices (config-linux.md "Devices", runtime-linux.md "Default Devices"). */
import { Case, check } from '../harness';

export const deviceCases: Case[] = [
  {
    name: 'devices-default',
    description: 'without linux.devices: /dev/null, zero, full, random, urandom, tty exist as char devices with the right numbers',
    run(h) {
      const out = h.probe('for d in null zero full random urandom tty; do stat -c "%n %F %t:%T" /dev/$d; done');
      const want = ['null 1:3', 'zero 1:5', 'full 1:7', 'random 1:8', 'urandom 1:9', 'tty 5:0'];
      for (const w of want) {
        const [name, nums] = w.split(' ');
        const [ma, mi] = nums.split(':').map((n) => Number(n).toString(16));
        check(out.includes(`/dev/${name} character special file ${ma}:${mi}`), `/dev/${name}: ${JSON.stringify(out)}`);
      }
    },
  },
  {
    name: 'devices-explicit',
    description: 'linux.devices: type, major/minor, fileMode, uid and gid as given',
    run(h) {
      const out = h.probe('stat -c "%n %F %t:%T %a %u %g" /dev/mydev /dev/myfifo', (c) => {
        c.linux.devices = [
          { path: '/dev/mydev', type: 'c', major: 1, minor: 7, fileMode: 0o640, uid: 12, gid: 34 },
          { path: '/dev/myfifo', type: 'p', fileMode: 0o644, uid: 0, gid: 0 },
        ];
        c.linux.resources = { devices: [{ allow: true, access: 'rwm' }] };
      });
      const lines = out.trim().split('\n');
      check(lines[0] === '/dev/mydev character special file 1:7 640 12 34', `mydev: ${lines[0]}`);
      check(lines[1] === '/dev/myfifo fifo 0:0 644 0 0', `fifo: ${lines[1]}`);
    },
  },
  {
    name: 'devices-override-default',
    description: 'an explicit /dev/null in linux.devices replaces the default one (its fileMode, uid, gid)',
    notApplicable: { crun: 'crun 1.8 applies the fileMode of an explicit default device but not its uid/gid' },
    run(h) {
      const out = h.probe('stat -c "%n %F %t:%T %a %u %g" /dev/null', (c) => {
        c.linux.devices = [{ path: '/dev/null', type: 'c', major: 1, minor: 3, fileMode: 0o600, uid: 5, gid: 6 }];
        c.linux.resources = { devices: [{ allow: true, access: 'rwm' }] };
      });
      check(out.trim() === '/dev/null character special file 1:3 600 5 6', `null: ${out}`);
    },
  },
];
