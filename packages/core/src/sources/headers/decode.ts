/**
 * The decoding steps the formats share, each a call to the one implementation in encoding/
 * (strict base64, percent-decoding, PEM) with this module's error: `forwarded_header_malformed`
 * naming the header and a position, never header content. Plus the outer DER framing every
 * certificate must have.
 */
import { type Base64Form, decodeBase64, type EncodingFailure } from '../../encoding/base64.js';
import { readPem } from '../../encoding/pem.js';
import { type PercentForm, percentDecode } from '../../encoding/percent.js';
import { readTlv } from '../../x509/der.js';
import { forwardedHeaderError, isForwardedHeaderError } from './errors.js';

/** What a format decodes a certificate header (and its chain header) to. */
export interface Decoded {
  readonly leaf: Buffer;
  readonly chain: Buffer[];
}

/**
 * The failure callback of the encoding/ decoders for one header. `decoded`: positions are in the
 * percent-decoded text, not in the header value, and say so.
 */
export function failIn(header: string, decoded = false): EncodingFailure {
  const where = decoded ? 'decoded position' : 'position';
  return (message, position) => {
    throw forwardedHeaderError(header, position === null ? message : `${message} at ${where} ${position}`);
  };
}

/**
 * Strict base64 of `text[start, end)` (`padded`, or `structured-field` for RFC 8941 byte sequences,
 * where padding may be omitted). Positions in errors are offsets in the header value.
 */
export function headerBase64(header: string, text: string, start: number, end: number, form: Base64Form): Buffer {
  return decodeBase64(text, start, end, form, failIn(header));
}

/** Percent-decoding of `text[start, end)`; `+` stays `+` (it is base64 in every format here). */
export function headerPercentDecode(
  header: string,
  text: string,
  start: number,
  end: number,
  form: PercentForm,
): string {
  return percentDecode(text, start, end, form, failIn(header));
}

/** `der` must be exactly one DER SEQUENCE (a certificate's outer framing). */
export function checkDer(header: string, der: Buffer, index: number): Buffer {
  try {
    const outer = readTlv(der, 0, der.length);
    if (outer.tag !== 0x30) throw forwardedHeaderError(header, `certificate ${index + 1} is not a DER certificate`);
    if (outer.end !== der.length) throw forwardedHeaderError(header, `trailing data after certificate ${index + 1}`);
    return der;
  } catch (error) {
    if (isForwardedHeaderError(error)) throw error;
    // der.ts messages describe the structure, never the bytes.
    throw forwardedHeaderError(header, `certificate ${index + 1} is not DER (${(error as Error).message})`, error);
  }
}

/** Concatenated DER certificates (HAProxy `ssl_c_chain_der`), split by their outer lengths. */
export function splitConcatenatedDer(header: string, bytes: Buffer, max: number): Buffer[] {
  const ders: Buffer[] = [];
  for (let offset = 0; offset < bytes.length; ) {
    if (ders.length === max) throw forwardedHeaderError(header, `more than maxChainLength (${max}) certificates`);
    let end: number;
    try {
      const tlv = readTlv(bytes, offset, bytes.length);
      if (tlv.tag !== 0x30)
        throw forwardedHeaderError(header, `certificate ${ders.length + 1} is not a DER certificate`);
      end = tlv.end;
    } catch (error) {
      if (isForwardedHeaderError(error)) throw error;
      throw forwardedHeaderError(
        header,
        `certificate ${ders.length + 1} is not DER (${(error as Error).message})`,
        error,
      );
    }
    ders.push(bytes.subarray(offset, end));
    offset = end;
  }
  return ders;
}

const PEM_TEXT: PercentForm = { output: 'latin1', bytes: 'pem-text' };

/**
 * Percent-encoded PEM (nginx, AWS ALB) or PEM as it is (Apache folds its line breaks into spaces):
 * `CERTIFICATE` blocks and whitespace only, at most `max` of them, each one DER certificate. The
 * PEM reader's header mode is stricter than a file's on purpose: text between blocks is legal in a
 * file but, in a header, is how two joined values look (`", "`). The decoded bytes must be printable
 * ASCII or PEM whitespace.
 */
export function pemCertificates(header: string, value: string, max: number): Buffer[] {
  const text = headerPercentDecode(header, value, 0, value.length, PEM_TEXT);
  const blocks = readPem(
    text,
    { mode: 'header', label: 'CERTIFICATE', max, onBlock: (der, index) => checkDer(header, der, index) },
    failIn(header, true),
  );
  return blocks.map((block) => block.der);
}

/** The chain without any copy of the leaf (some senders include it; the contract excludes it). */
export function withoutLeaf(leaf: Buffer, chain: readonly Buffer[]): Buffer[] {
  return chain.filter((der) => !der.equals(leaf));
}
