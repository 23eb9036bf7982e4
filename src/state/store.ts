/**
 * The state directory: `<root>/<id>/state.json` (0600, written atomically),
 * `<root>/<id>/exec.fifo` while the container is `created`. The root and
 * every container directory are 0700.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ERR_EXIST, ERR_NOT_EXIST, TsrunError, describeSystemError } from '../errors';
import { STATE_FILE, containerDir, validateId } from './paths';
import { guardJsonParse } from '../util/hash-flood';

/**
 * What tsrun remembers about a container. Modules may add their own fields
 * (declare them optional here, or use the index signature); unknown fields
 * are preserved by loadState/writeState.
 */
export interface StateRecord {
  ociVersion: string;
  id: string;
  /** Host pid of the container's init (0 when never started). */
  pid: number;
  /** Field 22 of /proc/<pid>/stat when the init was created: guards against pid reuse. */
  initStartTime: string;
  /** Absolute bundle path. */
  bundle: string;
  /** Absolute rootfs path. */
  rootfs: string;
  /** RFC 3339 creation time. */
  created: string;
  /** User name (or uid) of the creator. */
  owner: string;
  annotations?: Record<string, string>;
  /** The init was cloned with CLONE_PARENT (a sibling of tsrun, child of the caller). */
  cloneParent?: boolean;
  /** The config.json used at create time, if a module wants it kept. */
  config?: unknown;
  /**
   * Present only in the provisional record `create` writes before making
   * anything (pid 0 until the init exists, cgroup paths as they become
   * known): the creator's pid and start time. Gone once the create commits.
   */
  creating?: { pid: number; startTime: string };
  [extra: string]: unknown;
}

/** `mkdir -p root` (0700), then an exclusive mkdir of `<root>/<id>` (0700). EEXIST → ERR_EXIST. */
export function createContainerDir(root: string, id: string): string {
  const dir = containerDir(root, id);
  ensureRoot(root);
  try {
    fs.mkdirSync(dir, { mode: 0o700 });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') throw new TsrunError(ERR_EXIST);
    throw describeSystemError(`mkdir ${dir}`, e);
  }
  return dir;
}

/** `mkdir -p root` with mode 0700 for what it creates. */
export function ensureRoot(root: string): void {
  try {
    fs.mkdirSync(root, { recursive: true, mode: 0o700 });
  } catch (e) {
    throw describeSystemError(`mkdir ${root}`, e);
  }
}

/**
 * Atomically replaces `<dir>/state.json`: temp file, rename (0600). No fsync,
 * as in runc: the rename is what readers need, and state describes processes
 * that do not outlive the machine (the root is on tmpfs, /run, by default).
 */
export function writeState(dir: string, rec: StateRecord): void {
  const final = path.join(dir, STATE_FILE);
  const tmp = path.join(dir, `.${STATE_FILE}.${process.pid}.tmp`);
  const data = JSON.stringify(rec);
  try {
    const fd = fs.openSync(tmp, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_TRUNC, 0o600);
    try {
      fs.writeSync(fd, data);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, final);
  } catch (e) {
    try {
      fs.unlinkSync(tmp);
    } catch {
      /* not there */
    }
    throw describeSystemError(`write state of container ${rec.id}`, e);
  }
}

/** Reads `<root>/<id>/state.json`. Missing → TsrunError(ERR_NOT_EXIST); bad id → invalid container ID format. */
export function loadState(root: string, id: string): StateRecord {
  const file = path.join(containerDir(root, id), STATE_FILE);
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') throw new TsrunError(ERR_NOT_EXIST);
    throw describeSystemError(`read state of container ${id}`, e);
  }
  guardJsonParse(text, file);
  let rec: StateRecord;
  try {
    rec = JSON.parse(text) as StateRecord;
  } catch (e) {
    throw new TsrunError(`container ${id}: corrupt state file ${file}: ${(e as Error).message}`);
  }
  if (!rec || typeof rec !== 'object' || rec.id !== id) throw new TsrunError(`container ${id}: corrupt state file ${file}`);
  return rec;
}

/** Does `<root>/<id>` exist at all (even without a state file)? */
export function containerDirExists(root: string, id: string): boolean {
  return fs.existsSync(containerDir(root, id));
}

/** Removes `<root>/<id>` and everything in it. A missing directory is fine. */
export function removeContainerDir(root: string, id: string): void {
  const dir = containerDir(root, id);
  try {
    // The state dir is flat (state.json, fifos, sockets): unlink + rmdir, and
    // fs.rmSync's recursive walker only for anything else.
    let names: string[];
    try {
      names = fs.readdirSync(dir);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw e;
    }
    for (const n of names) {
      const f = path.join(dir, n);
      if (fs.lstatSync(f).isDirectory()) fs.rmSync(f, { recursive: true, force: true });
      else fs.unlinkSync(f);
    }
    fs.rmdirSync(dir);
  } catch (e) {
    throw describeSystemError(`remove ${dir}`, e);
  }
}

/** Every container with a readable state file, sorted by id. A missing root is an empty list. */
export function listContainers(root: string): StateRecord[] {
  let names: string[];
  try {
    names = fs.readdirSync(root);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return [];
    throw describeSystemError(`read ${root}`, e);
  }
  const out: StateRecord[] = [];
  for (const name of names.sort()) {
    if (name.startsWith('.')) continue;
    try {
      validateId(name);
      out.push(loadState(root, name));
    } catch {
      // Not a container, or one being created/destroyed right now: runc skips these too.
    }
  }
  return out;
}

/**
 * The creator's user name (runc shows it in `list`), or the uid when
 * /etc/passwd has none. Read directly rather than through os.userInfo():
 * that loads Node's os module and glibc's NSS, ~0.4 ms of every create.
 */
export function currentOwner(passwdFile = '/etc/passwd'): string {
  const uid = typeof process.getuid === 'function' ? process.getuid() : -1;
  let passwd = '';
  try {
    passwd = fs.readFileSync(passwdFile, 'latin1');
  } catch {
    /* no passwd file: the uid it is */
  }
  return ownerFromPasswd(passwd, uid);
}

/** The first /etc/passwd entry with `uid` ("name:x:uid:gid:..."), else the uid itself. */
export function ownerFromPasswd(passwd: string, uid: number): string {
  const want = String(uid);
  for (const line of passwd.split('\n')) {
    const f = line.split(':', 4);
    if (f.length >= 3 && f[2] === want && f[0] !== '') return f[0];
  }
  return want;
}
