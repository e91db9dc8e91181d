/**
 * XFCC forwarder: for a Node.js gateway that terminates mTLS (an `http-proxy` or `node:http`
 * reverse proxy), produce the `x-forwarded-client-cert` value for the next hop exactly as Envoy's
 * `forward_client_cert_details` / `set_current_client_cert_details` would.
 *
 * What Envoy writes (`ConnectionManagerUtility::mutateXfccRequestHeader`), and so what this writes:
 *
 * - one element, pairs joined with `;` and no whitespace, in the order `By` (one pair per URI SAN of
 *   the proxy's own certificate), `Hash` (lower-case hex SHA-256 of the client's DER), then the
 *   selected details always in Envoy's order `Cert`, `Chain`, `Subject`, `URI`, `DNS`;
 * - `Cert` / `Chain`: the PEM (64-column base64, `\n` line ends) URL-encoded with everything but
 *   `A-Z a-z 0-9 * - . _` as upper-case `%XX`, inside double quotes; `Chain` is the leaf followed
 *   by the certificates the client presented, concatenated;
 * - `Subject="<RFC 2253>"`, present even when the subject is empty; the DN is printed as
 *   OpenSSL/BoringSSL `X509_NAME_print_ex(XN_FLAG_RFC2253)` prints it (see {@link rfc2253Subject});
 * - `URI=` one pair per URI SAN, and a bare `URI=` when there is none; `DNS=` one per DNS SAN;
 * - modes (where "mTLS" means the client PRESENTED a certificate, Envoy's `peerCertificatePresented()`):
 *
 *   | mode                  | no mTLS (plain HTTP, or TLS without a client certificate) | mTLS                               |
 *   |-----------------------|-----------------------------------------------------------|------------------------------------|
 *   | `SANITIZE`            | removed                                                   | removed                            |
 *   | `FORWARD_ONLY`        | removed                                                   | client's value forwarded unchanged |
 *   | `APPEND_FORWARD`      | removed                                                   | client's value + `,` + new element |
 *   | `SANITIZE_SET`        | removed                                                   | replaced by the new element        |
 *   | `ALWAYS_FORWARD_ONLY` | client's value forwarded unchanged                        | client's value forwarded unchanged |
 *
 * Where this deliberately differs from Envoy (each case is one Envoy gets wrong or cannot have):
 *
 * - a `By`/`URI`/`DNS` value containing `,` `;` `"` or leading/trailing spaces is written quoted and
 *   escaped (`URI="a,b"`). Envoy writes it bare (its code has a TODO for it), which lets a client
 *   whose certificate carries such a SAN inject pairs or whole elements; quoted, `parseXfcc` and
 *   Envoy's own parser read back exactly the SAN. Every other value is byte-identical to Envoy's.
 * - a peer certificate that cannot be parsed, or whose selected fields cannot be written into a
 *   header at all (a control character in a SAN), is treated as if no certificate had been
 *   presented: a gateway must never throw on what a client sends, and must never forward a
 *   description it cannot make exact.
 * - `Chain` is what Node reports as the peer's chain (see {@link presentedChain}).
 */

import { X509Certificate } from 'node:crypto';
import type { IncomingMessage, OutgoingHttpHeaders } from 'node:http';
import type { Http2ServerRequest } from 'node:http2';
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { isPrintableAscii } from '../encoding/text.js';
import type { ClientCertificate } from '../model.js';
import { type ConnectionCarrier, connectionOf, readPeer } from '../sources/tls.js';
import { DEFAULT_XFCC_LIMITS, urlEncode } from '../sources/xfcc.js';
import { booleanOption, headerNameOption, invalidOption, knownKeys, objectOption, oneOf } from '../validate.js';
import { derToPem, parseCertificate, recordOf, splitCertificates } from '../x509/certificate.js';
import { opensslRfc2253 } from '../x509/name.js';
import { readTbs } from '../x509/tbs.js';

/** Envoy's `forward_client_cert_details` values. */
export type XfccForwardMode = 'SANITIZE' | 'FORWARD_ONLY' | 'APPEND_FORWARD' | 'SANITIZE_SET' | 'ALWAYS_FORWARD_ONLY';

/** Envoy's `set_current_client_cert_details` keys (`By` and `Hash` are always written). */
export type XfccDetail = 'Cert' | 'Chain' | 'Subject' | 'URI' | 'DNS';

export interface XfccForwarderOptions {
  /**
   * What to do with the header the client sent and whether to add an element. Default
   * `SANITIZE_SET`: the only mode that both strips the client's value and sets a fresh one, i.e.
   * the only one in which the app behind can trust the header whatever the client sends. (Envoy's
   * own default, `SANITIZE`, forwards nothing at all; the others forward client-written text and
   * are meant for hops whose downstream is itself a trusted proxy.)
   */
  mode?: XfccForwardMode;
  /**
   * Details of the client certificate to add after `By` and `Hash`; written in Envoy's order
   * whatever order is given here. Default: all five, `['Cert', 'Chain', 'Subject', 'URI', 'DNS']`.
   * Envoy's default is none (only `By` and `Hash`), but an app behind cannot verify anything from
   * a hash: it needs `Cert`, and `Chain` for the intermediates the client presented (clientcert's
   * `xfcc` source verifies `Cert` with `Chain` against its `ca`). `Subject`, `URI` and `DNS` add a
   * few hundred bytes and let apps or logs that do not parse certificates read the identity.
   * `Chain` repeats the leaf; with large RSA chains and Node's 16 KiB header limit, drop `Chain`
   * when the app's `ca`/`intermediates` already hold the intermediates.
   */
  details?: readonly XfccDetail[];
  /**
   * `By`: the forwarding proxy's OWN URI SANs, one `By=` pair each (Envoy's behaviour). A list, or
   * `'auto'` to read them from `serverCert`, or, without `serverCert`, from the certificate each
   * TLS connection was actually served with (`socket.getCertificate()`, right with SNI). Default:
   * none.
   */
  by?: readonly string[] | 'auto';
  /** The gateway's own certificate (PEM, a PEM bundle whose first block is it, or DER), for `by: 'auto'`. */
  serverCert?: string | Uint8Array;
  /** Header name (default `x-forwarded-client-cert`), matched case-insensitively, written lower-case. */
  header?: string;
  /**
   * Count a connection as mTLS only when Node's TLS stack verified the client certificate against
   * the server's `ca` (`socket.authorized`). Default `false`, Envoy's rule: a certificate that was
   * PRESENTED counts. In Envoy the two coincide unless the validation context lets unverified
   * certificates through (`trust_chain_verification: ACCEPT_UNTRUSTED`); a Node gateway usually
   * runs with `rejectUnauthorized: false`, so an untrusted or expired certificate reaches it and,
   * by default, is described to the app, which verifies it and answers with the precise reason.
   * Set `true` when the app trusts the gateway's verification instead of doing its own: a
   * presented but unverified certificate is then treated like no certificate.
   */
  requireVerified?: boolean;
}

export interface XfccForwarder {
  readonly mode: XfccForwardMode;
  readonly details: readonly XfccDetail[];
  /** The header name, lower-case. */
  readonly header: string;
  /**
   * The value to send upstream for a request on `socket` that arrived with `incoming` (the
   * client's header value(s); several are joined with `,` as Envoy joins repeated headers), or
   * undefined to send no header at all. Never throws on anything the peer sent. `socket` is the
   * connection: over HTTP/2 the session's (`req.stream.session.socket`), not `req.socket`, which
   * is a new object for every stream (`apply` finds it itself).
   */
  headerFor(socket: TLSSocket | Socket, incoming: string | readonly string[] | undefined): string | undefined;
  /**
   * Mutates the outgoing header object the way Envoy mutates the request: removes every copy of
   * the header (any letter case), then sets it when there is a value. The client's value is read
   * from `req` (its distinct header lines), not from `headers`. `req` is an HTTP/1.1
   * IncomingMessage or an HTTP/2 compatibility-API request.
   */
  apply(req: IncomingMessage | Http2ServerRequest, headers: OutgoingHttpHeaders): void;
}

const MODES: readonly XfccForwardMode[] = [
  'SANITIZE',
  'FORWARD_ONLY',
  'APPEND_FORWARD',
  'SANITIZE_SET',
  'ALWAYS_FORWARD_ONLY',
];
/** Envoy's order (`convertSetCurrentClientCertDetails`). */
const DETAILS: readonly XfccDetail[] = ['Cert', 'Chain', 'Subject', 'URI', 'DNS'];
const KNOWN_OPTIONS = new Set(['mode', 'details', 'by', 'serverCert', 'header', 'requireVerified']);

/** Validates the options once and returns the forwarder. Throws `invalid_option` naming the option. */
export function createXfccForwarder(options: XfccForwarderOptions = {}): XfccForwarder {
  objectOption(options, 'options');
  knownKeys(options, KNOWN_OPTIONS);
  const mode = oneOf(options.mode ?? 'SANITIZE_SET', MODES, 'mode');
  const details = compileDetails(options.details ?? DETAILS);
  const want = new Set(details);
  const name = headerNameOption(options.header ?? 'x-forwarded-client-cert', 'header');
  const requireVerified =
    options.requireVerified === undefined ? false : booleanOption(options.requireVerified, 'requireVerified');

  // By: fixed pairs (a list, or read from serverCert), or null to read them per connection.
  const fixedBy = compileBy(options);

  /** The element for one connection, or null when it does not count as mTLS. */
  const perConnection = new WeakMap<object, string | null>();

  function elementFor(socket: TLSSocket | Socket): string | null {
    if (typeof socket !== 'object' || socket === null) return null; // e.g. a request whose socket is gone
    const cached = perConnection.get(socket);
    if (cached !== undefined) return cached;
    const element = computeElement(socket);
    perConnection.set(socket, element);
    return element;
  }

  function computeElement(socket: TLSSocket | Socket): string | null {
    try {
      const peer = readPeer(socket);
      if (!peer?.leaf) return null;
      if (requireVerified && !peer.authorized) return null;
      let leaf: ClientCertificate;
      try {
        leaf = parseCertificate(peer.leaf);
      } catch {
        return null; // not a certificate we can describe: as if none had been presented
      }
      const by = fixedBy ?? byFromConnection(socket);
      return writeElement(by, leaf, peer.chain, want);
    } catch {
      return null; // never throw on what a peer sent
    }
  }

  function headerFor(socket: TLSSocket | Socket, incoming: string | readonly string[] | undefined): string | undefined {
    const client = joinIncoming(incoming);
    switch (mode) {
      case 'SANITIZE':
        return undefined;
      case 'ALWAYS_FORWARD_ONLY':
        return client;
      case 'FORWARD_ONLY':
        return elementFor(socket) === null ? undefined : client;
      case 'APPEND_FORWARD': {
        const element = elementFor(socket);
        if (element === null) return undefined;
        return client ? `${client},${element}` : element; // Envoy adds the "," only after a non-empty value
      }
      case 'SANITIZE_SET':
        return elementFor(socket) ?? undefined;
    }
  }

  function apply(req: IncomingMessage | Http2ServerRequest, headers: OutgoingHttpHeaders): void {
    const distinct = (req as { headersDistinct?: Record<string, string[] | undefined> }).headersDistinct;
    const incoming = distinct ? distinct[name] : req.headers[name];
    // Over HTTP/2 each stream has a socket object of its own: the session's is the connection.
    const value = headerFor(connectionOf(req as ConnectionCarrier) ?? req.socket, incoming);
    for (const key of Object.keys(headers)) {
      if (key.toLowerCase() === name) delete headers[key];
    }
    if (value !== undefined) headers[name] = value;
  }

  return Object.freeze({ mode, details: Object.freeze(details), header: name, headerFor, apply });
}

/** The `By` pairs: fixed (a list, or read from `serverCert`), or null to read them per connection. */
function compileBy(options: XfccForwarderOptions): string[] | null {
  let fixedBy: string[] | null = [];
  if (options.serverCert !== undefined && options.by !== 'auto') {
    throw invalidOption('serverCert', "is only read with by: 'auto'");
  }
  if (options.by === 'auto') {
    fixedBy = options.serverCert === undefined ? null : byFromServerCert(options.serverCert);
  } else if (options.by !== undefined) {
    if (!Array.isArray(options.by)) throw invalidOption('by', "must be an array of URIs or 'auto'");
    fixedBy = options.by.map((uri: unknown) => {
      if (typeof uri !== 'string' || uri === '' || uri.includes(' ') || !isPrintableAscii(uri)) {
        throw invalidOption('by', 'must contain non-empty URIs of visible ASCII characters');
      }
      return `By=${pairValue(uri)!}`;
    });
  }
  return fixedBy;
}

/** The details to write, in Envoy's order whatever order they are given in. */
function compileDetails(requested: unknown): XfccDetail[] {
  if (!Array.isArray(requested)) throw invalidOption('details', `must be an array of ${DETAILS.join(', ')}`);
  for (const detail of requested) {
    if (!DETAILS.includes(detail)) {
      throw invalidOption('details', `must only contain ${DETAILS.join(', ')} (case-sensitive)`);
    }
  }
  if (new Set(requested).size !== requested.length) throw invalidOption('details', 'must not repeat a detail');
  return DETAILS.filter((detail) => requested.includes(detail));
}

function joinIncoming(incoming: string | readonly string[] | undefined): string | undefined {
  if (incoming === undefined || typeof incoming === 'string') return incoming;
  if (!Array.isArray(incoming) || incoming.length === 0) return undefined;
  return incoming.join(',');
}

function byFromServerCert(input: string | Uint8Array): string[] {
  let certificate: ClientCertificate;
  try {
    const first = splitCertificates(typeof input === 'string' ? input : Buffer.from(input))[0];
    if (!first) throw new Error('no certificate');
    certificate = parseCertificate(first);
  } catch {
    throw invalidOption('serverCert', 'must be the gateway certificate as PEM or DER');
  }
  const by: string[] = [];
  for (const uri of certificate.san.uri) {
    const written = pairValue(uri);
    if (written === null) throw invalidOption('serverCert', 'has a URI SAN that cannot be written into a header');
    by.push(`By=${written}`);
  }
  return by;
}

/** The URI SANs of the certificate this TLS connection was served with; none if unreadable. */
function byFromConnection(socket: TLSSocket | Socket): string[] {
  const local = (socket as Partial<TLSSocket>).getCertificate?.();
  const raw = local && (local as { raw?: unknown }).raw;
  if (!Buffer.isBuffer(raw)) return [];
  try {
    return parseCertificate(raw).san.uri.flatMap((uri) => {
      const written = pairValue(uri);
      return written === null ? [] : [`By=${written}`];
    });
  } catch {
    return [];
  }
}

// ---------------------------------------------------------------------------------------------
// The element

/** Builds Envoy's element, or null when a selected field cannot be written into a header. */
function writeElement(
  by: readonly string[],
  leaf: ClientCertificate,
  chain: readonly Buffer[],
  want: ReadonlySet<XfccDetail>,
): string | null {
  const pairs = [...by, `Hash=${leaf.fingerprints.sha256}`];
  if (want.has('Cert')) pairs.push(`Cert="${urlEncode(leaf.pem)}"`);
  if (want.has('Chain')) {
    const presented = [leaf.raw, ...presentedChain(chain)];
    pairs.push(`Chain="${presented.map((der) => urlEncode(derToPem(der))).join('')}"`);
  }
  if (want.has('Subject')) {
    const record = recordOf(leaf); // parsed already: no copy of the DER, no second walk
    pairs.push(`Subject="${opensslRfc2253(record.der, record.tbs.subject)}"`);
  }
  if (want.has('URI')) {
    if (leaf.san.uri.length === 0) pairs.push('URI='); // Envoy's "no URI SAN"
    for (const uri of leaf.san.uri) {
      const written = pairValue(uri);
      if (written === null) return null;
      pairs.push(`URI=${written}`);
    }
  }
  if (want.has('DNS')) {
    for (const dns of leaf.san.dns) {
      const written = pairValue(dns);
      if (written === null) return null;
      pairs.push(`DNS=${written}`);
    }
  }
  return pairs.join(';');
}

/**
 * The certificates after the leaf in `Chain`. Envoy writes the chain as the client sent it
 * (`SSL_get_peer_full_cert_chain`); `readPeer` reads the same list (OpenSSL's peer chain, through
 * `getPeerX509Certificate()`'s issuer links, in the order sent; the server's trust store is not
 * mixed in). Differences that remain:
 * - trailing self-issued certificates (roots) are left out: an app verifies against its own roots,
 *   and a root in the header only makes it longer;
 * - at most `DEFAULT_XFCC_LIMITS.maxChainLength` certificates in all, so that `parseXfcc` with
 *   default limits always reads the value back.
 */
export function presentedChain(chain: readonly Buffer[]): Buffer[] {
  let end = chain.length;
  while (end > 0 && isSelfIssued(chain[end - 1]!)) end--;
  return chain.slice(0, Math.min(end, DEFAULT_XFCC_LIMITS.maxChainLength - 1));
}

function isSelfIssued(der: Buffer): boolean {
  try {
    const certificate = new X509Certificate(der);
    return certificate.checkIssued(certificate); // OpenSSL's X509_check_issued, as Node ends its chain
  } catch {
    return false;
  }
}

/**
 * A `By`/`URI`/`DNS` value as written: bare, as Envoy writes it, unless that would be ambiguous
 * (`,` `;` `"` or leading/trailing spaces), then quoted with `"` and `\` escaped. Null when the
 * value has a character no header may carry in this position (controls, non-ASCII).
 */
function pairValue(value: string): string | null {
  if (!/^[\x20-\x7e]*$/.test(value)) return null;
  if (!/[,;"]|^ | $/.test(value)) return value;
  return `"${value.replace(/["\\]/g, '\\$&')}"`;
}

/**
 * The subject of a DER certificate as OpenSSL's `X509_NAME_print_ex(name, 0, XN_FLAG_RFC2253)`
 * prints it, which is what Envoy writes as `Subject` (x509/name.ts `opensslRfc2253`).
 */
export function rfc2253Subject(der: Buffer): string {
  return opensslRfc2253(der, readTbs(der).subject);
}
