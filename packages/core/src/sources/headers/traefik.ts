/**
 * `traefik`: `X-Forwarded-Tls-Client-Cert`, base64 DER per certificate, `,`-joined, leaf first
 * (up to Traefik 2.9.1 each also query-escaped). Its `-Info` header is read by traefik-info.ts.
 */
import type { PercentForm } from '../../encoding/percent.js';
import { checkDer, type Decoded, headerBase64, headerPercentDecode } from './decode.js';
import { forwardedHeaderError } from './errors.js';
import type { CompiledHeaderSource } from './types.js';

/** Any byte may be escaped; what is not base64 is refused after unescaping. */
const ESCAPED_BASE64: PercentForm = { output: 'latin1', bytes: 'any' };

export function decodeTraefikSource(source: CompiledHeaderSource, value: string): Decoded {
  const [leaf, ...chain] = decodeTraefik(source.header, value, source.limits.maxChainLength);
  return { leaf: leaf!, chain };
}

/**
 * Traefik `X-Forwarded-Tls-Client-Cert`: `b64der *( "," b64der )`, leaf first. Up to v2.9.1 each
 * certificate was additionally `url.QueryEscape`d (`%2B %2F %3D`), so each piece is split on the
 * literal `,` first and percent-decoded when it holds a `%` (base64 has none). `+` stays `+`:
 * the old form never has a literal `+` (QueryEscape writes `%2B`), the new form's `+` is base64.
 * No whitespace: Traefik writes none, and `", "` is what a repeated header looks like.
 */
function decodeTraefik(header: string, value: string, max: number): Buffer[] {
  const ders: Buffer[] = [];
  let start = 0;
  let percent = value.indexOf('%'); // the next `%` at or after `start`, found once per `%`
  for (;;) {
    let end = value.indexOf(',', start);
    if (end < 0) end = value.length;
    if (ders.length === max + 1)
      throw forwardedHeaderError(header, `more than maxChainLength (${max}) certificates besides the leaf`);
    if (percent >= 0 && percent < start) percent = value.indexOf('%', start);
    const der =
      percent >= 0 && percent < end
        ? decodeEscapedBase64(header, value, start, end, ders.length)
        : headerBase64(header, value, start, end, 'padded');
    ders.push(checkDer(header, der, ders.length));
    if (end === value.length) return ders;
    start = end + 1;
  }
}

/**
 * A query-escaped base64 piece (Traefik ≤ 2.9.1): `%XX` decoded, then strict base64. Positions in
 * base64 errors would refer to the unescaped text, so those name the certificate instead.
 */
function decodeEscapedBase64(header: string, value: string, start: number, end: number, index: number): Buffer {
  const out = headerPercentDecode(header, value, start, end, ESCAPED_BASE64);
  try {
    return headerBase64(header, out, 0, out.length, 'padded');
  } catch (error) {
    throw forwardedHeaderError(header, `certificate ${index + 1} is not valid base64 after unescaping`, error);
  }
}
