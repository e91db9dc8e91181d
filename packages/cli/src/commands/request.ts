/**
 * The request `clientcert check` hands the middleware: the one an app with this configuration
 * would receive. A certificate comes either on the TLS connection (the client connects directly)
 * or in the forwarded header the configuration reads (a proxy forwards it); a header value comes
 * in its header. The connection is a stand-in with what Node's sockets report: the peer's address,
 * and for TLS the peer's certificates and the TLS stack's verdict, which is computed here as
 * OpenSSL computes it for a server with `requestCert: true` (a path to the server's `ca`, validity,
 * the client-authentication purpose).
 */
import { X509Certificate } from 'node:crypto';
import type { Socket } from 'node:net';
import {
  type CompiledHeaderSource,
  createXfccForwarder,
  derToPem,
  type RequestLike,
  verifyChainSync,
} from '@clientcert/core';
import { inputError, shown, usageError } from '../errors.js';
import type { HeaderFormat } from '../input.js';
import { nginxEscape } from './xfcc.js';

/** What `check` presents: a certificate (file), a header value, or nothing. */
export type CheckInput =
  | { readonly kind: 'certificate'; readonly leaf: Buffer; readonly chain: readonly Buffer[] }
  | {
      readonly kind: 'header';
      readonly value: string;
      /** Null when the value could not be read here (a custom source's format): the middleware decides. */
      readonly format: HeaderFormat | null;
      /** The header it came from (`--header`, or a pasted `Name: value`), else null. */
      readonly header: string | null;
      readonly leaf: Buffer | null;
      readonly chain: readonly Buffer[];
    }
  | { readonly kind: 'none' };

/** How the request reaches the app. */
export interface Transport {
  /** The HTTPS server's `ca` (PEM or DER): the request comes on a TLS connection. Undefined: plain HTTP. */
  readonly tlsCa?: string | Buffer | ReadonlyArray<string | Buffer> | undefined;
  /** The immediate peer's address (default: chosen by `defaultPeer`). */
  readonly from?: string | undefined;
  /** Other header lines sent along, as `[name, value]`. */
  readonly headers?: ReadonlyArray<readonly [string, string]> | undefined;
}

/** The middleware options as compiled (`createClientCertAuth(...).options`), as far as the request needs them. */
export interface Reading {
  readonly sources: ReadonlyArray<'auto' | 'tls' | 'xfcc' | CompiledHeaderSource>;
  readonly forwarded: 'xfcc' | CompiledHeaderSource;
  readonly xfccHeader: string;
  readonly xfccBy: ReadonlySet<string> | null;
  readonly trustProxy: (address: string, hop: number) => boolean;
  readonly trustProxyDescription: string;
}

/** The TLS stack's verdict on the peer, as `socket.authorized` / `socket.authorizationError` say it. */
export interface TlsVerdict {
  readonly authorized: boolean;
  readonly authorizationError: string | null;
}

export interface BuiltRequest {
  readonly request: RequestLike;
  readonly from: string;
  /** Header names sent, lower-case, in order. */
  readonly sent: readonly string[];
  /** The certificate's header, when the input was put in one. */
  readonly carrier: string | null;
  /** Whether the connection is TLS. */
  readonly secure: boolean;
  readonly tls: TlsVerdict | null;
}

/** Addresses tried for "a peer trustProxy trusts" (a proxy), in order. */
const PROXY_ADDRESSES = ['127.0.0.1', '::1', '10.0.0.1', '172.16.0.1', '192.168.0.1', '100.64.0.1', 'fd00::1'];
/** Addresses tried for "a peer trustProxy does not trust" (a client on the internet): documentation ranges. */
const CLIENT_ADDRESSES = ['203.0.113.10', '198.51.100.10', '192.0.2.10', '2001:db8::10'];

export function buildRequest(input: CheckInput, reading: Reading, transport: Transport, at: Date): BuiltRequest {
  const tls = transport.tlsCa !== undefined;
  const lines: Array<[string, string]> = [];
  let carrier: string | null = null;
  if (input.kind === 'header') {
    carrier = input.header ?? headerFor(reading, input.format!, tls);
    lines.push(...valueLines(input, carrier, reading));
  } else if (input.kind === 'certificate' && !tls) {
    const written = writeForwarded(input.leaf, input.chain, reading);
    carrier = written[0]![0];
    lines.push(...written);
  }
  for (const [name, value] of transport.headers ?? []) lines.push([name.toLowerCase(), value]);
  const from = transport.from ?? defaultPeer(reading, lines.length > 0);
  const headers: Record<string, string> = {};
  // As Node joins a header sent twice (the forwarded-certificate headers are not among those it drops).
  for (const [name, value] of lines) headers[name] = headers[name] === undefined ? value : `${headers[name]}, ${value}`;
  let socket: Socket;
  let verdict: TlsVerdict | null = null;
  if (tls) {
    const presented = input.kind === 'certificate' ? input : null;
    verdict = presented ? tlsVerdict(presented.leaf, presented.chain, transport.tlsCa!, at) : null;
    socket = tlsSocket(from, presented, verdict);
  } else {
    socket = { remoteAddress: from, encrypted: false } as unknown as Socket;
  }
  const request: RequestLike = { socket, headers, rawHeaders: lines.flat() };
  return { request, from, sent: lines.map(([name]) => name), carrier, secure: tls, tls: verdict };
}

/**
 * The peer when `--from` is not given: a proxy the configuration trusts when a header carries a
 * certificate, else a client it does not trust (a client connecting directly is not a proxy).
 */
export function defaultPeer(reading: Reading, forwarded: boolean): string {
  const trusted = (address: string) => reading.trustProxy(address, 0) === true;
  if (!forwarded) return CLIENT_ADDRESSES.find((a) => !trusted(a)) ?? CLIENT_ADDRESSES[0]!;
  const proxy = PROXY_ADDRESSES.find(trusted);
  if (proxy === undefined) {
    throw usageError(
      `trustProxy (${shown(reading.trustProxyDescription)}) trusts none of ${PROXY_ADDRESSES.join(', ')}: ` +
        "give --from <your proxy's address> to send the header from it",
    );
  }
  return proxy;
}

/** The header the configuration reads values of `format` in, else that format's usual header. */
function headerFor(reading: Reading, format: HeaderFormat, tls: boolean): string {
  for (const source of reading.sources) {
    const resolved = source === 'auto' ? (tls ? 'tls' : reading.forwarded) : source;
    if (resolved === 'xfcc' && format === 'xfcc') return reading.xfccHeader;
    if (typeof resolved === 'object' && resolved.source === format) return resolved.header;
  }
  return USUAL_HEADER[format];
}

const USUAL_HEADER: Record<HeaderFormat, string> = {
  xfcc: 'x-forwarded-client-cert',
  rfc9440: 'client-cert',
  traefik: 'x-forwarded-tls-client-cert',
  'url-pem': 'ssl-client-cert',
  'base64-der': 'x-client-cert',
  'aws-alb': 'x-amzn-mtls-clientcert',
};

/** A header value as given; a pasted RFC 9440 list is Client-Cert and Client-Cert-Chain. */
function valueLines(
  input: Extract<CheckInput, { kind: 'header' }>,
  header: string,
  reading: Reading,
): Array<[string, string]> {
  if (input.format !== 'rfc9440' || input.chain.length === 0 || !input.leaf) return [[header, input.value]];
  const source = reading.sources.find((s): s is CompiledHeaderSource => typeof s === 'object' && s.header === header);
  return [
    [header, byteSequence(input.leaf)],
    [source?.chainHeader ?? 'client-cert-chain', input.chain.map(byteSequence).join(', ')],
  ];
}

/** A certificate written into the first forwarded header the configuration reads, as its proxy writes it. */
function writeForwarded(leaf: Buffer, chain: readonly Buffer[], reading: Reading): Array<[string, string]> {
  const source = reading.sources
    .map((s) => (s === 'auto' ? reading.forwarded : s))
    .find((s): s is 'xfcc' | CompiledHeaderSource => s !== 'tls');
  if (source === undefined) {
    throw usageError(
      "this configuration reads certificates from the TLS connection only (source 'tls'): give the CA your HTTPS " +
        'server verifies clients against (its ca option) with --tls-ca <file>',
    );
  }
  if (source === 'xfcc') return [[reading.xfccHeader, xfccFor(leaf, chain, reading.xfccBy)]];
  const pem = (ders: readonly Buffer[]) => ders.map(derToPem).join('');
  switch (source.source) {
    case 'rfc9440': {
      const lines: Array<[string, string]> = [[source.header, byteSequence(leaf)]];
      if (chain.length > 0 && source.chainHeader) lines.push([source.chainHeader, chain.map(byteSequence).join(', ')]);
      return lines;
    }
    case 'url-pem':
      return [[source.header, nginxEscape(pem([leaf]))]];
    case 'base64-der':
      return [[source.header, leaf.toString('base64')]];
    case 'traefik':
      return [[source.header, [leaf, ...chain].map((der) => queryEscape(der.toString('base64'))).join(',')]];
    case 'aws-alb':
      // Verify mode's -Leaf header carries the leaf; passthrough the chain the client sent.
      return [[source.header, encodeURIComponent(pem(source.mode === 'verify' ? [leaf] : [leaf, ...chain]))]];
    default:
      throw usageError(
        `the configuration reads a custom source (${shown(source.header)}), whose format only its decode function ` +
          'knows: give the header value itself (and --header)',
      );
  }
}

const byteSequence = (der: Buffer): string => `:${der.toString('base64')}:`;
/** Go's url.QueryEscape, as Traefik escapes base64. */
const queryEscape = (text: string): string => encodeURIComponent(text);

/** The XFCC element Envoy (SANITIZE_SET) writes for this client, with the configuration's expected `By`. */
function xfccFor(leaf: Buffer, chain: readonly Buffer[], expectedBy: ReadonlySet<string> | null): string {
  const by = expectedBy ? [[...expectedBy][0]!] : undefined;
  const forwarder = createXfccForwarder({ mode: 'SANITIZE_SET', details: ['Cert', 'Chain'], ...(by ? { by } : {}) });
  const socket = { encrypted: true, authorized: true, getPeerX509Certificate: () => peerChain(leaf, chain) };
  const value = forwarder.headerFor(socket as unknown as Socket, undefined);
  if (value === undefined) throw inputError('the certificate cannot be written into an XFCC header');
  return value;
}

/**
 * Node's view of a TLS peer: `getPeerX509Certificate()` and its `issuerCertificate` links, in the
 * order the client sent them (real certificate objects; the link is an own property, as Node's
 * objects from a socket carry it).
 */
function peerChain(leaf: Buffer, chain: readonly Buffer[]): X509Certificate {
  const objects = [leaf, ...chain].map((der) => new X509Certificate(der));
  objects.forEach((object, i) => {
    Object.defineProperty(object, 'issuerCertificate', { value: objects[i + 1], enumerable: true });
  });
  return objects[0]!;
}

/** A TLS connection from `from` that presented `presented` (or no certificate). */
function tlsSocket(
  from: string,
  presented: { leaf: Buffer; chain: readonly Buffer[] } | null,
  verdict: TlsVerdict | null,
): Socket {
  const peer = presented ? peerChain(presented.leaf, presented.chain) : undefined;
  return {
    remoteAddress: from,
    encrypted: true,
    authorized: verdict?.authorized ?? false,
    authorizationError: verdict?.authorizationError ?? null,
    getPeerX509Certificate: () => peer,
    getPeerCertificate: () => ({}),
    isSessionReused: () => false,
    getProtocol: () => 'TLSv1.3',
  } as unknown as Socket;
}

/**
 * What OpenSSL says of a client's certificates on a server with `ca` and `requestCert: true`: a
 * path from what the client sent to `ca`, each certificate valid at `at`, the leaf fit for client
 * authentication. Named as Node names OpenSSL's errors (`socket.authorizationError`).
 */
export function tlsVerdict(
  leaf: Buffer,
  chain: readonly Buffer[],
  ca: NonNullable<Transport['tlsCa']>,
  at: Date,
): TlsVerdict {
  const anchors = (Array.isArray(ca) ? ca : [ca]) as Array<string | Buffer>;
  const result = verifyChainSync({ leaf, intermediates: [...chain], trustAnchors: anchors, at, purpose: 'clientAuth' });
  if (result.ok) return { authorized: true, authorizationError: null };
  return { authorized: false, authorizationError: OPENSSL_ERRORS[result.code] ?? 'CERT_UNTRUSTED' };
}

const OPENSSL_ERRORS: Partial<Record<string, string>> = {
  untrusted: 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  expired: 'CERT_HAS_EXPIRED',
  not_yet_valid: 'CERT_NOT_YET_VALID',
  wrong_purpose: 'INVALID_PURPOSE',
  invalid_ca: 'INVALID_CA',
  path_length_exceeded: 'PATH_LENGTH_EXCEEDED',
  name_constraints: 'PERMITTED_VIOLATION',
  unhandled_critical_extension: 'UNHANDLED_CRITICAL_EXTENSION',
  weak_algorithm: 'CA_MD_TOO_WEAK',
  malformed: 'CERT_SIGNATURE_FAILURE',
};
