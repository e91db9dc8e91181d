/**
 * XFCC headers as Envoy writes them, for tests: written independently of the core's `formatXfcc`
 * so that the parser is never checked against itself.
 */
import type { X509Certificate } from 'node:crypto';
import type { TestCertificate } from './index.js';
import { percentEncode } from './shared.js';

/** Which details an Envoy `set_current_client_cert_details` would add. */
export interface EnvoyXfccOptions {
  /** The proxy's own URI SANs (`By=`), one pair each. */
  by?: string[];
  /** Default: Cert, Chain, Subject, URI, DNS (everything Envoy can add, in Envoy's order). */
  details?: Array<'Cert' | 'Chain' | 'Subject' | 'URI' | 'DNS'>;
  /** Certificates the client presented after its leaf (PEM); default: the leaf's own chain. */
  presentedChain?: string[];
  /** A header value already on the request, for APPEND_FORWARD. */
  appendTo?: string;
}

/** Envoy's URL encoding: every byte except `A-Z a-z 0-9 * - . _` becomes `%XX`. */
export function envoyUrlEncode(text: string): string {
  return percentEncode(text, /[A-Za-z0-9*\-._]/);
}

/**
 * Build one XFCC element exactly as Envoy's `mutateXfccRequestHeader` does (`SANITIZE_SET`,
 * or `APPEND_FORWARD` with `appendTo`): By, Hash, then the selected details; Cert/Chain/Subject
 * quoted, By/URI/DNS bare, `Subject=""` and a bare `URI=` kept when empty. Written independently
 * of the core's `formatXfcc` so that tests of the parser are not checked against itself.
 */
export function envoyXfcc(client: TestCertificate, options: EnvoyXfccOptions = {}): string {
  const details = options.details ?? ['Cert', 'Chain', 'Subject', 'URI', 'DNS'];
  const parts: string[] = (options.by ?? []).map((uri) => `By=${uri}`);
  parts.push(`Hash=${client.sha256}`);
  const uris: string[] = [];
  const dns: string[] = [];
  for (const entry of (client.x509.subjectAltName ?? '').split(', ')) {
    if (entry.startsWith('URI:')) uris.push(entry.slice(4));
    if (entry.startsWith('DNS:')) dns.push(entry.slice(4));
  }
  for (const detail of details) {
    if (detail === 'Cert') parts.push(`Cert="${envoyUrlEncode(client.cert)}"`);
    if (detail === 'Chain') {
      const presented = [client.cert, ...(options.presentedChain ?? client.chain)];
      parts.push(`Chain="${presented.map(envoyUrlEncode).join('')}"`);
    }
    if (detail === 'Subject') parts.push(`Subject="${rfc2253(client.x509)}"`);
    if (detail === 'URI') parts.push(...(uris.length ? uris.map((u) => `URI=${u}`) : ['URI=']));
    if (detail === 'DNS') parts.push(...dns.map((d) => `DNS=${d}`));
  }
  const element = parts.join(';');
  return options.appendTo ? `${options.appendTo},${element}` : element;
}

/** OpenSSL's XN_FLAG_RFC2253 order (most specific first) from Node's one-per-line subject. */
function rfc2253(cert: X509Certificate): string {
  return cert.subject.split('\n').filter(Boolean).reverse().join(',');
}
