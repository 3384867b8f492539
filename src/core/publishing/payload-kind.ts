// What kind of installer a payload is, from its name and its first bytes together: the extension
// says what the publisher meant, the magic says what the file is, and a disagreement is refused
// rather than guessed (an .msi that is really an .exe would be handed to the wrong handler).

import { ManifestError } from './manifest-error.js';

export type PayloadKind = 'msi' | 'msp' | 'exe' | 'msu';

const CFB = Buffer.from('D0CF11E0A1B11AE1', 'hex');
const MZ = Buffer.from('MZ', 'latin1');
const MSCF = Buffer.from('MSCF', 'latin1');
const SUPPORTED = 'supported payloads are .msi and .msp (Windows Installer), .exe (command line) and .msu (Windows update package)';
/** Characters a file name inside a cabinet and on Windows cannot hold, plus path separators. */
const BAD_NAME = /[\u0000-\u001F\u007F"*/:<>?\\|]/;

function startsWith(head: Uint8Array, magic: Buffer): boolean {
  return head.length >= magic.length && Buffer.from(head.buffer, head.byteOffset, magic.length).equals(magic);
}

function contentKind(head: Uint8Array): string {
  if (startsWith(head, CFB)) return 'a Windows Installer (compound file) database';
  if (startsWith(head, MZ)) return 'a Windows executable';
  if (startsWith(head, MSCF)) return 'a cabinet';
  return 'of an unknown format';
}

/** A payload's name as it will appear inside the CAB and in the handler data: a plain file name. */
export function checkPayloadFileName(fileName: string, field = 'payload.fileName'): void {
  if (fileName.length === 0 || fileName.length > 200) throw new ManifestError(field, 'must be 1 to 200 characters long');
  if (BAD_NAME.test(fileName)) throw new ManifestError(field, `'${fileName.slice(0, 60)}' must be a plain file name without path separators or any of " * : < > ? |`);
  if (fileName.startsWith('.') || /[. ]$/.test(fileName)) throw new ManifestError(field, `'${fileName}' must not start with a dot or end with a dot or space`);
}

/** `head` must hold at least the first 8 bytes of the file. */
export function payloadKindOf(fileName: string, head: Uint8Array): PayloadKind {
  checkPayloadFileName(fileName);
  const ext = /\.([A-Za-z0-9]+)$/.exec(fileName)?.[1]?.toLowerCase();
  const expected: Record<string, [PayloadKind, Buffer]> = { msi: ['msi', CFB], msp: ['msp', CFB], exe: ['exe', MZ], msu: ['msu', MSCF] };
  const want = ext !== undefined ? expected[ext] : undefined;
  if (!want) {
    throw new ManifestError('payload.fileName', `'${fileName}' has ${ext ? `the extension .${ext}` : 'no extension'}; ${SUPPORTED}`);
  }
  if (head.length < 8) throw new ManifestError('payload', `'${fileName}' is too short to be an installer (${head.length} bytes)`);
  if (!startsWith(head, want[1])) {
    throw new ManifestError('payload', `'${fileName}' is named .${ext} but its content is ${contentKind(head)}; ` +
      `rename it to match its content or pick the right file (${SUPPORTED})`);
  }
  return want[0];
}
