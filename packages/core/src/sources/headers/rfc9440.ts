/**
 * `rfc9440`: `Client-Cert` is an RFC 8941 byte sequence `:base64(DER):`; `Client-Cert-Chain` an
 * RFC 8941 list of them, leaf excluded. Only the structured-field syntax RFC 9440 needs is read.
 */
import { COLON, COMMA, SEMICOLON, SP, skipOws } from '../../encoding/text.js';
import { checkDer, type Decoded, headerBase64 } from './decode.js';
import { forwardedHeaderError } from './errors.js';
import type { CompiledHeaderSource } from './types.js';

export function decodeRfc9440(source: CompiledHeaderSource, value: string, chainValue: string | undefined): Decoded {
  const leaf = parseClientCert(source.header, value);
  const chain =
    chainValue === undefined ? [] : parseClientCertChain(source.chainHeader!, chainValue, source.limits.maxChainLength);
  return { leaf, chain };
}

/**
 * RFC 8941 §4.2.7 byte sequence starting at `pos` (which must be `:`). Returns the DER and the
 * offset after the closing `:`.
 */
function parseByteSequence(header: string, text: string, pos: number): { der: Buffer; end: number } {
  if (text.charCodeAt(pos) !== COLON) {
    throw forwardedHeaderError(header, `expected a structured-field byte sequence (":base64:") at position ${pos}`);
  }
  const close = text.indexOf(':', pos + 1);
  if (close < 0) throw forwardedHeaderError(header, `unterminated byte sequence at position ${pos}`);
  return { der: headerBase64(header, text, pos + 1, close, 'structured-field'), end: close + 1 };
}

/**
 * After a bare item: parameters (`;key[=value]`) are rejected. RFC 9440 defines none for
 * Client-Cert or Client-Cert-Chain, no known sender writes any, and accepting ones we do not
 * understand would mean parsing every RFC 8941 bare-item type just to throw the result away.
 */
function rejectParameters(header: string, text: string, pos: number): void {
  if (text.charCodeAt(pos) === SEMICOLON) {
    throw forwardedHeaderError(header, `structured-field parameters are not accepted (position ${pos})`);
  }
}

function skipSp(text: string, pos: number): number {
  while (text.charCodeAt(pos) === SP) pos++;
  return pos;
}

/**
 * `Client-Cert`: an RFC 8941 Item that must be a byte sequence, without parameters. RFC 9440: a
 * singleton that "MUST NOT have a list of values or occur multiple times"; Node joins a repeated
 * header into `:a:, :b:`, which fails here on the `,`.
 */
function parseClientCert(header: string, value: string): Buffer {
  let pos = skipSp(value, 0);
  const item = parseByteSequence(header, value, pos);
  rejectParameters(header, value, item.end);
  pos = skipSp(value, item.end);
  if (pos < value.length) {
    throw forwardedHeaderError(
      header,
      value.charCodeAt(pos) === COMMA
        ? `more than one value (a repeated Client-Cert header?) at position ${pos}`
        : `unexpected character after the byte sequence at position ${pos}`,
    );
  }
  return checkDer(header, item.der, 0);
}

/**
 * `Client-Cert-Chain`: an RFC 8941 §4.2.1 List whose members are byte sequences (inner lists and
 * other item types rejected, parameters rejected). It may occur several times (joined by Node
 * with `", "`, which is list syntax). Empty → no chain.
 */
function parseClientCertChain(header: string, value: string, max: number): Buffer[] {
  const ders: Buffer[] = [];
  let pos = skipSp(value, 0);
  if (pos >= value.length) return ders;
  for (;;) {
    if (value.charCodeAt(pos) === 0x28) {
      throw forwardedHeaderError(header, `inner lists are not accepted (position ${pos})`);
    }
    if (ders.length === max) throw forwardedHeaderError(header, `more than maxChainLength (${max}) certificates`);
    const item = parseByteSequence(header, value, pos);
    rejectParameters(header, value, item.end);
    ders.push(checkDer(header, item.der, ders.length));
    pos = skipOws(value, item.end);
    if (pos >= value.length) return ders;
    if (value.charCodeAt(pos) !== COMMA) {
      throw forwardedHeaderError(header, `expected "," between list members at position ${pos}`);
    }
    pos = skipOws(value, pos + 1);
    if (pos >= value.length) throw forwardedHeaderError(header, `trailing comma at position ${pos - 1}`);
  }
}
