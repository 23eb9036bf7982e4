/**
 * Known deviations from the runtime-spec schema that real engines send and
 * runc accepts. Validation must not refuse what callers send every day, so
 * each deviation is recognised here, BEFORE schema validation, narrowly:
 * the parsed document is normalised in place to its spec form and a warning
 * says what was changed. Anything else outside the schema is still refused.
 *
 * Every entry is listed in DEVIATIONS (docs/deviations.md holds the same
 * list for users) and has its own unit test (test/unit/deviations.test.ts).
 */

export interface Deviation {
  /** Stable key, used by docs and tests. */
  id: string;
  /** The field (JSON path with [] for any index). */
  field: string;
  /** Who sends it. */
  senders: string;
  /** What tsrun does with it. */
  handling: string;
}

export const DEVIATIONS: readonly Deviation[] = Object.freeze([
  {
    id: 'device-filemode-type-bits',
    field: 'linux.devices[].fileMode',
    senders: 'podman --privileged (e.g. 8630 = S_IFCHR|0666, the host device\'s st_mode)',
    handling:
      'the file type bits (S_IFMT, 0o170000) are accepted and masked off; a warning is logged when they do not name the device\'s type',
  },
]);

const S_IFMT = 0o170000;
/** The st_mode file type each linux.devices[].type makes (mknod(2)). */
const TYPE_BITS: Readonly<Record<string, number>> = { c: 0o020000, u: 0o020000, b: 0o060000, p: 0o010000 };

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/**
 * Normalises the known deviations in a parsed config.json document, in
 * place; returns one warning per value changed against the spec. Values it
 * does not recognise are left for the schema to judge.
 */
export function normalizeDeviations(doc: unknown): string[] {
  const warnings: string[] = [];
  if (!isObject(doc) || !isObject(doc.linux)) return warnings;
  const devices = doc.linux.devices;
  if (Array.isArray(devices)) {
    devices.forEach((d, i) => {
      if (!isObject(d)) return;
      const mode = d.fileMode;
      // Only a whole number whose extra bits are all file type bits: 0o777 plus S_IFMT.
      if (typeof mode !== 'number' || !Number.isInteger(mode) || mode <= 0o777 || mode > (S_IFMT | 0o777)) return;
      if ((mode & ~(S_IFMT | 0o777)) !== 0) return;
      const typeBits = mode & S_IFMT;
      const want = typeof d.type === 'string' ? TYPE_BITS[d.type] : undefined;
      if (want === undefined) return; // the schema reports the bad type
      d.fileMode = mode & 0o777;
      if (typeBits !== want) {
        warnings.push(
          `linux.devices[${i}].fileMode: ${mode} (0${mode.toString(8)}) carries file type bits 0${typeBits.toString(8)} that are not ` +
            `those of type ${JSON.stringify(d.type)} (0${want.toString(8)}); using mode 0${(mode & 0o777).toString(8)} for a ${JSON.stringify(d.type)} device`,
        );
      }
    });
  }
  return warnings;
}
