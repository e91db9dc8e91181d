/**
 * Forwarded client-certificate headers other than XFCC: pure decoders from request headers to DER.
 * The formats live in headers/, one file each; this module is their public face.
 *
 * | source       | certificate header (default)                 | encoding                                               | chain |
 * | ------------ | -------------------------------------------- | ------------------------------------------------------ | ----- |
 * | `rfc9440`    | `client-cert` (+ `client-cert-chain`)        | RFC 8941 byte sequence `:base64(DER):`; chain an SF list | separate header, leaf excluded |
 * | `traefik`    | `x-forwarded-tls-client-cert` (+ `-info`)    | base64 DER per certificate, `,`-joined (≤ v2.9.1 also query-escaped) | same header, leaf first |
 * | `url-pem`    | `ssl-client-cert`                            | percent-encoded PEM (nginx `$ssl_client_escaped_cert`), or raw PEM with line breaks folded to spaces (Apache), `(null)` = none | none (leaf only) |
 * | `base64-der` | `x-client-cert`                              | strict base64 of the DER (App Service, ASP.NET, Cloudflare, Caddy, HAProxy); Caddy's unresolved placeholder = none | optional header: base64 of concatenated DER (HAProxy `ssl_c_chain_der`) |
 * | `aws-alb`    | `x-amzn-mtls-clientcert` (passthrough) / `x-amzn-mtls-clientcert-leaf` (verify) | percent-encoded PEM, `+ = /` possibly left unencoded | passthrough: same header, leaf first |
 * | custom       | any                                          | `decode(value) => Buffer \| Buffer[] \| undefined`     | from `decode` |
 *
 * Rules shared by every source (each one a decision):
 * - Percent-decoding never turns `+` into a space: `+` is a base64 character in every format here
 *   (AWS leaves it unencoded, Traefik ≥ 2.9.2 never encodes). The one exception is Traefik's
 *   `-Info` header, which Go's `url.QueryEscape` writes with `+` for space ({@link parseTraefikInfo}).
 * - A header value is checked before any decoding: at most `limits.maxLength` characters, and only
 *   printable ASCII and HTAB (no CR/LF/NUL or other controls, no obs-text). An empty value is the
 *   same as an absent header (GCP and nginx leave empty headers when there is no certificate).
 * - Base64 is strict: standard alphabet only (no URL-safe `-_`), no whitespace, padding required
 *   (every emitter pads), except in RFC 8941 byte sequences, where RFC 8941 §4.2.7 asks parsers
 *   not to fail on missing padding, so unpadded is accepted there. `=` only at the end.
 * - Every certificate must be one DER SEQUENCE spanning its bytes exactly (outer framing checked
 *   here; the full X.509 parse is `parseCertificate`'s job, after this).
 * - A header that is the same certificate twice or two values joined (Node joins repeated header
 *   lines with `", "`) is rejected wherever the format does not allow it: RFC 9440 `Client-Cert`
 *   (`:a:, :b:`), base64 (a space is not base64), PEM sources (text other than whitespace
 *   between PEM blocks), Traefik (no whitespace after its `,`). `Client-Cert-Chain` may repeat.
 * - The returned chain never contains the leaf and is in the order sent; at most
 *   `limits.maxChainLength` certificates besides the leaf.
 * - Errors are `ClientCertError`s created by {@link forwardedHeaderError}: today code
 *   `forwarded_header_malformed` with `check: 'forwarded_header'` (see FORWARDED_HEADER_ERROR_CODE);
 *   messages name the header (configuration text) and a position, never header content.
 * - `describedBy`: headers in which the proxy also describes the certificate it forwarded (subject
 *   and issuer DN, serial, fingerprints). They are read here, raw (see ForwardedDescription), and
 *   compared with the parsed certificate by proxy-description.ts: a certificate header the proxy
 *   did not write (ingress-nginx without `auth-tls-pass-certificate-to-upstream` keeps a client's
 *   `ssl-client-cert`) then disagrees with what the proxy says about the client's real certificate.
 *
 * Scanners are single left-to-right passes (`indexOf` and character tests, no regular expressions
 * on header text), so work is linear in the capped header length.
 */
export { compileHeaderSource } from './headers/compile.js';
export {
  FORWARDED_HEADER_CHECK,
  FORWARDED_HEADER_ERROR_CODE,
  forwardedHeaderError,
  isForwardedHeaderError,
  PROXY_DESCRIPTION_CHECK,
} from './headers/errors.js';
export { readHeaderSource, readProxyVerdict } from './headers/read.js';
export { parseTraefikInfo, readTraefikInfo, type TraefikCertInfo } from './headers/traefik-info.js';
export * from './headers/types.js';
