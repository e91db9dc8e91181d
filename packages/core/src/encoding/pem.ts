/**
 * PEM (RFC 7468): the one reader for certificate files, configured bundles and headers that
 * carry PEM text, and the one writer.
 *
 * API:
 *
 *   interface PemBlock { readonly label: string; readonly der: Buffer }
 *   interface PemOptions {
 *     mode: 'file' | 'header';
 *     label: string | readonly string[];     // the labels to return
 *     max?: number;                           // header mode: more blocks than this is refused
 *     onBlock?: (der: Buffer, index: number) => void;  // each returned block, in order, as it is read
 *   }
 *   readPem(text: string, options: PemOptions, fail: EncodingFailure): PemBlock[]
 *   writePem(der: Uint8Array, label: string): string       // 64 columns, LF, trailing newline
 *   looksLikePem(bytes: Uint8Array): boolean               // `-----BEGIN` after optional whitespace
 *
 * The two modes are the two strictnesses callers need:
 * - `file`: explanatory text before, between and after blocks is ignored (RFC 7468 §2), blocks
 *   with other labels are checked and skipped (a key next to a certificate in a bundle);
 * - `header`: blocks of the one `label` and whitespace, nothing else. Text between blocks is legal
 *   in a file but, in a header, is how two joined values look (`", "`), so it is refused.
 * Both: a body is strict base64 with whitespace anywhere (`pem-body` in base64.ts), an opened block
 * must be closed by the END line of the same label.
 *
 * `fail(message, position)` must throw; it receives a fixed description and, where one helps, the
 * offset in `text`. `onBlock` lets a caller check each block (its DER framing, say) before the
 * next one is read, so that the first problem in the text is the one reported.
 */
import { decodeBase64, type EncodingFailure } from './base64.js';
import { isPemSpace, isPrintableAscii } from './text.js';

export interface PemBlock {
  readonly label: string;
  readonly der: Buffer;
}

export interface PemOptions {
  readonly mode: 'file' | 'header';
  /** The label (or labels) of the blocks to return. Header mode allows no other. */
  readonly label: string | readonly string[];
  /** Header mode: refuse a block beyond this many. */
  readonly max?: number;
  /** Called for each returned block, in order, before the next block is read. */
  readonly onBlock?: (der: Buffer, index: number) => void;
}

const BEGIN = '-----BEGIN ';
const DASHES = '-----';
/** Longer labels are not labels: RFC 7468's longest is 27 characters. */
const MAX_LABEL = 64;

/** Every block of `text` that `options` asks for, in order. */
export function readPem(text: string, options: PemOptions, fail: EncodingFailure): PemBlock[] {
  return options.mode === 'file' ? readFile(text, options, fail) : readHeader(text, options, fail);
}

function wanted(label: string, options: PemOptions): boolean {
  return typeof options.label === 'string' ? label === options.label : options.label.includes(label);
}

function readFile(text: string, options: PemOptions, fail: EncodingFailure): PemBlock[] {
  const blocks: PemBlock[] = [];
  let pos = 0;
  for (;;) {
    const begin = text.indexOf(BEGIN, pos);
    if (begin < 0) return blocks;
    const labelStart = begin + BEGIN.length;
    const labelEnd = text.indexOf(DASHES, labelStart);
    if (labelEnd < 0 || labelEnd - labelStart > MAX_LABEL) fail('invalid PEM header line', begin);
    const label = text.slice(labelStart, labelEnd);
    if (!isPrintableAscii(label)) fail('invalid PEM header line', begin);
    const endLine = `-----END ${label}-----`;
    const bodyStart = labelEnd + DASHES.length;
    const end = text.indexOf(endLine, bodyStart);
    if (end < 0) fail('PEM block without an END line', begin);
    const der = decodeBase64(text, bodyStart, end, 'pem-body', fail);
    if (wanted(label, options)) {
      options.onBlock?.(der, blocks.length);
      blocks.push({ label, der });
    }
    pos = end + endLine.length;
  }
}

function readHeader(text: string, options: PemOptions, fail: EncodingFailure): PemBlock[] {
  const label = typeof options.label === 'string' ? options.label : options.label[0]!;
  const beginLine = `-----BEGIN ${label}-----`;
  const endLine = `-----END ${label}-----`;
  const max = options.max ?? Number.POSITIVE_INFINITY;
  const blocks: PemBlock[] = [];
  let pos = 0;
  for (;;) {
    while (pos < text.length && isPemSpace(text.charCodeAt(pos))) pos++;
    if (pos >= text.length) return blocks;
    if (!text.startsWith(beginLine, pos)) fail(`expected a "${beginLine}" line`, pos);
    if (blocks.length === max) fail(`more than ${max} certificate(s)`, null);
    const bodyStart = pos + beginLine.length;
    const end = text.indexOf(endLine, bodyStart);
    if (end < 0) fail('PEM block without an END line', pos);
    const der = decodeBase64(text, bodyStart, end, 'pem-body', fail);
    options.onBlock?.(der, blocks.length);
    blocks.push({ label, der });
    pos = end + endLine.length;
  }
}

/** Canonical PEM of DER bytes: 64-column base64, LF line ends, a trailing newline. */
export function writePem(der: Uint8Array, label: string): string {
  const base64 = Buffer.from(der.buffer, der.byteOffset, der.byteLength).toString('base64');
  let body = '';
  for (let i = 0; i < base64.length; i += 64) body += `${base64.slice(i, i + 64)}\n`;
  return `-----BEGIN ${label}-----\n${body}-----END ${label}-----\n`;
}

/** True when the bytes are PEM text: `-----BEGIN` after optional leading whitespace. */
export function looksLikePem(bytes: Uint8Array): boolean {
  let i = 0;
  while (i < bytes.length && isPemSpace(bytes[i]!)) i++;
  if (bytes.length - i < 10) return false;
  for (let j = 0; j < 10; j++) {
    if (bytes[i + j] !== BEGIN.charCodeAt(j)) return false;
  }
  return true;
}
