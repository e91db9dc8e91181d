/**
 * How proxies write a certificate into a header, and how fingerprints are shown: written for the
 * tests, independently of the modules under test (the percent-encoding is the test kit's, the one
 * its `envoyUrlEncode` uses).
 */
import { percentEncode } from '../../packages/core/src/testkit/shared.js';

/** nginx `$ssl_client_escaped_cert` (NGX_ESCAPE_URI_COMPONENT): all but `A-Z a-z 0-9 - . _ ~`. */
export const nginxEscape = (pem: string): string => percentEncode(pem, /[A-Za-z0-9\-._~]/);
/** AWS ALB passthrough: URL-encoded with `+ = /` as safe characters. */
export const albEscape = (pem: string): string => percentEncode(pem, /[A-Za-z0-9\-._~+=/]/);
/** Go `url.QueryEscape`: all but `A-Z a-z 0-9 - _ . ~`, and space as `+`. */
export const goQueryEscape = (text: string): string => percentEncode(text, /[A-Za-z0-9\-._~ ]/).replace(/ /g, '+');
/** Traefik's ingress-nginx compatibility: QueryEscape, then `+` → `%20`. */
export const traefikNginxEscape = (pem: string): string => goQueryEscape(pem).replace(/\+/g, '%20');
/** Apache mod_headers: line breaks become spaces; Node trims the trailing one. */
export const apacheFold = (pem: string): string => pem.replace(/\n/g, ' ').trim();
export const b64 = (der: Buffer): string => der.toString('base64');

/** Hex as fingerprints are shown (openssl, browsers): upper case, a colon between bytes. */
export function colonHex(hex: string): string {
  return hex.toUpperCase().match(/../g)!.join(':');
}
