import { createHash, type X509Certificate } from 'node:crypto';
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { readTlv, Tag } from '../x509/der.js';

/** What the TLS connection says about its peer, read once per connection. */
export interface PeerInfo {
  /** DER of the leaf the client presented, or null when it presented none. */
  readonly leaf: Buffer | null;
  /** DER of the other certificates the peer sent (leaf excluded), in the order it sent them. */
  readonly chain: readonly Buffer[];
  /** Node's objects for `leaf` and `chain`, in the same order: parsing them again would cost ~100 µs each. */
  readonly certificates: readonly X509Certificate[];
  /**
   * Whether Node's TLS stack verified the peer against the `ca` of the server name this connection
   * asked for. On a resumed session of a server with several names this holds only on evidence for
   * that name (see `resumedSessionRefusal`).
   */
  readonly authorized: boolean;
  /** OpenSSL's reason when not authorized (e.g. `CERT_HAS_EXPIRED`), or one of `RESUMED_SESSION`. */
  readonly authorizationError: string | null;
  /** The connection resumed an earlier TLS session: its certificate was verified on another connection. */
  readonly resumed: boolean;
}

/**
 * `authorizationError` values of this library, for a resumed TLS session whose verdict the TLS
 * stack gave under a server name that may not be this connection's. They are not OpenSSL's, so
 * they become `client_certificate_untrusted`.
 */
export const RESUMED_SESSION = {
  /** TLS 1.3: this certificate was never verified by a full handshake for this server name. */
  notVerifiedForServerName: 'RESUMED_SESSION_NOT_VERIFIED_FOR_SERVER_NAME',
  /** TLS 1.2 and older: OpenSSL keeps no trace of the name the client asked for on a resumption. */
  serverNameUnknown: 'RESUMED_SESSION_SERVER_NAME_UNKNOWN',
} as const;

/**
 * Peer info per socket, in a WeakMap rather than a property on the socket: adding a property to
 * Node's TLSSocket objects changes their shape, and the TLS stack's own code then runs measurably
 * slower on every request of the connection (~1-5 µs per request in benchmarks/). The map is
 * shared through a global symbol so that every copy of this library in a process (ESM and CJS
 * builds, two versions) reads the peer only once: on Node 20 the chain can be read only once.
 */
const PEERS_KEY = Symbol.for('clientcert.peers');
const peers: WeakMap<Socket, PeerInfo> = ((globalThis as { [PEERS_KEY]?: WeakMap<Socket, PeerInfo> })[PEERS_KEY] ??=
  new WeakMap<Socket, PeerInfo>());
const MAX_CHAIN = 10;

/**
 * Per server, which (server name, certificate) pairs the TLS stack verified by a full handshake,
 * most recently used last. Shared between copies of this library like the peers map (a full
 * handshake seen by one copy is evidence for all). Bounded: a pair that was evicted, or whose full
 * handshake this process never read (another cluster worker sharing ticket keys, a connection that
 * never reached the middleware), makes its TLS 1.3 resumptions refused until the client does a
 * full handshake again — refusing is the safe side of not knowing.
 */
const VERIFIED_KEY = Symbol.for('clientcert.verifiedServerNames.v1');
const verifiedNames: WeakMap<object, Map<string, true>> = ((
  globalThis as { [VERIFIED_KEY]?: WeakMap<object, Map<string, true>> }
)[VERIFIED_KEY] ??= new WeakMap<object, Map<string, true>>());
const MAX_VERIFIED_NAMES = 10_000;

/** What the core reads of a request to find its connection: Node's IncomingMessage and Http2ServerRequest both fit. */
export interface ConnectionCarrier {
  readonly socket?: Socket | null;
  /** HTTP/2 (the compatibility API's `Http2ServerRequest`, or a `{ stream }` from the stream API). */
  readonly stream?: { readonly session?: { readonly socket?: Socket; readonly destroyed?: boolean } | null } | null;
}

/**
 * The object that stands for a request's connection: everything kept per connection (the peer,
 * the decision, whether the peer is a trusted proxy) is keyed by it. Over HTTP/1.1 it is the
 * socket. Over HTTP/2 `req.socket` is a proxy made for each stream, a new object per request, so
 * state keyed by it would be rebuilt on every stream — and on Node 20 the peer's chain is handed
 * out once per connection, so every stream after the first would lose it. The session's `socket`
 * is one object per session, forwarding to its TLS (or TCP) socket: that is the key. Undefined
 * when there is no connection to read: none given, or an HTTP/2 session that is gone (the client
 * left; every read through its socket, or a stream's, would throw).
 */
export function connectionOf(request: ConnectionCarrier): Socket | undefined {
  const stream = request.stream;
  if (typeof stream === 'object' && stream !== null && 'session' in stream) {
    const session = stream.session;
    return session && session.destroyed !== true && session.socket ? session.socket : undefined;
  }
  return request.socket ?? undefined;
}

/**
 * Read the peer certificate and chain of a TLS connection, once, and keep the result for the
 * connection. `getPeerX509Certificate()` (~1 µs) and its `issuerCertificate` links give exactly the
 * certificates the client sent (OpenSSL's peer chain; the server's own trust store is not mixed
 * in), where `getPeerCertificate(true)` costs ~50 µs per certificate and appends issuers from the
 * server's `ca`. On Node 20 the first `getPeerX509Certificate()` call also takes the chain off the
 * socket, so it must be read here, once — per connection: over HTTP/2 `socket` must be the
 * session's (`connectionOf`), not a stream's. A chain that is gone (someone read it first, or the
 * session was resumed) is recalled from an earlier full handshake of the same leaf where there was
 * one (`knownChains`). Returns null for a plain-TCP connection.
 */
export function readPeer(socket: Socket): PeerInfo | null {
  const tls = socket as TLSSocket;
  if (!tls.encrypted || typeof tls.getPeerX509Certificate !== 'function') return null;
  // Kept by a copy of this library that predates `resumed`? Its verdict lacks the rule below.
  const cached: Omit<PeerInfo, 'resumed'> | undefined = peers.get(socket);
  if (cached)
    return 'resumed' in cached ? (cached as PeerInfo) : remember(socket, { ...cached, ...verdict(tls, cached.leaf) });

  // A resumed TLS session can report `authorized` with no certificate at all (a known Node.js behaviour):
  // there is then no peer certificate. That is "no certificate", never "verified".
  const peer = tls.getPeerX509Certificate();
  const raw = peer?.raw; // a getter that copies: read once
  const leaf = raw !== undefined && raw.length > 0 ? raw : null;
  const certificates: X509Certificate[] = [];
  const chain: Buffer[] = [];
  if (peer && leaf) {
    certificates.push(peer);
    let current = peer;
    let currentDer = leaf;
    while (chain.length < MAX_CHAIN) {
      const next = current.issuerCertificate;
      if (!next) break;
      const der = next.raw;
      if (der.equals(currentDer)) break; // a self-signed certificate can be linked to itself
      certificates.push(next);
      chain.push(der);
      current = next;
      currentDer = der;
    }
    if (chain.length > 0) rememberChain(leaf, chain, certificates);
    else if (knownChains.size > 0) recallChain(tls, leaf, chain, certificates);
  }
  return remember(socket, { leaf, chain, certificates, ...verdict(tls, leaf) });
}

/**
 * The chains leaves were presented with on full handshakes, by the leaf's SHA-256, most recently
 * used last. A connection whose chain is not on the socket gets the one its leaf came with before:
 * a resumed TLS session carries only the leaf (OpenSSL keeps no peer chain in a session, TLS 1.2
 * and 1.3 alike), and on Node 20 the chain is gone once any code has called
 * `getPeerX509Certificate()` on the connection. Only the holder of the leaf's key can present that
 * leaf, so no one else can choose the chain recalled for it, and a chain is only a set of
 * candidates: trust is still decided from the configured anchors. Shared between copies of this
 * library like the peers map; bounded.
 */
interface KnownChain {
  readonly chain: readonly Buffer[];
  readonly certificates: readonly X509Certificate[];
}
const CHAINS_KEY = Symbol.for('clientcert.presentedChains.v1');
const knownChains: Map<string, KnownChain> = ((globalThis as { [CHAINS_KEY]?: Map<string, KnownChain> })[CHAINS_KEY] ??=
  new Map<string, KnownChain>());
const MAX_KNOWN_CHAINS = 1000;

function leafKey(leaf: Buffer): string {
  return createHash('sha256').update(leaf).digest('base64');
}

function rememberChain(leaf: Buffer, chain: readonly Buffer[], certificates: readonly X509Certificate[]): void {
  const key = leafKey(leaf);
  const known = knownChains.get(key);
  // The same chain again (a client's every connection): keep the entry, skip the re-insertion.
  if (known && known.chain.length === chain.length && known.chain.every((der, i) => der.equals(chain[i]!))) return;
  knownChains.delete(key);
  knownChains.set(key, { chain: [...chain], certificates: certificates.slice(1) });
  if (knownChains.size > MAX_KNOWN_CHAINS) knownChains.delete(knownChains.keys().next().value!);
}

/**
 * The chain this leaf was presented with before, when the connection lost its own: only then, so
 * that a client that sends its leaf alone is refused the same way on every connection.
 */
function recallChain(tls: TLSSocket, leaf: Buffer, chain: Buffer[], certificates: X509Certificate[]): void {
  const known = knownChains.get(leafKey(leaf));
  if (!known) return;
  const resumed = typeof tls.isSessionReused === 'function' && tls.isSessionReused();
  if (chainLoss(tls, certificates[0]!, resumed, tls.authorized === true) === null) return;
  chain.push(...known.chain);
  certificates.push(...known.certificates);
}

/** Why a TLS peer's chain is not on its connection, when that can be told (see `missingChainCause`). */
export type MissingChainCause = 'resumed' | 'taken';

/**
 * Why the TLS stack verified this peer through intermediates that are not on the connection, or
 * null when nothing says any are missing (the client sent its leaf alone, and the server's `ca`
 * holds the rest of the path). Asked only after a refusal for lack of a path.
 */
export function missingChainCause(socket: Socket, peer: PeerInfo): MissingChainCause | null {
  if (!peer.leaf || peer.chain.length > 0) return null;
  const leaf = peer.certificates[0];
  return leaf ? chainLoss(socket as TLSSocket, leaf, peer.resumed, peer.authorized) : null;
}

/**
 * A resumed session never carries the chain. On a full handshake, the stack's verdict
 * (`authorized`) needed a path to the server's `ca`; when the server's own store does not complete
 * one from the leaf (`getPeerCertificate(true)`, tens of µs, so asked only when it matters), the
 * client sent the intermediates and someone took them off the socket before this library read it.
 */
function chainLoss(
  tls: TLSSocket,
  leaf: X509Certificate,
  resumed: boolean,
  authorized: boolean,
): MissingChainCause | null {
  let current: { raw?: Buffer; issuerCertificate?: unknown } | undefined;
  try {
    if (leaf.checkIssued(leaf)) return null; // self-issued: there was no chain to lose
    if (resumed) return 'resumed';
    if (!authorized || typeof tls.getPeerCertificate !== 'function') return null;
    current = tls.getPeerCertificate(true);
  } catch {
    return null; // not what Node's TLS socket gives (a stand-in socket): nothing to tell
  }
  for (let i = 0; i <= MAX_CHAIN && current?.raw; i++) {
    const next = current.issuerCertificate as typeof current | undefined;
    if (next === current) return null; // a self-signed root: the server's store holds the whole path
    if (!next?.raw) return 'taken'; // the path ends short of a root, yet the stack verified one
    current = next;
  }
  return null;
}
function remember(socket: Socket, info: PeerInfo): PeerInfo {
  peers.set(socket, info);
  return info;
}

/** The TLS stack's verdict on `leaf`, as far as it holds for this connection's server name. */
/**
 * The DER of the peer's certificate, the cheapest way Node offers on a fresh connection: from the
 * TLS session (`getSession()`, ~15 µs), OpenSSL's SSL_SESSION whose `peer` field ([3]) is the very
 * certificate `getPeerX509Certificate()` returns (OpenSSL keeps the peer on the session, resumed or
 * not). That call costs ~10× more the first time on a connection and builds objects for the whole
 * chain, so it is left for the connections a decision is needed for. Null when the session cannot
 * be read or holds no certificate.
 */
export function sessionPeerDer(socket: Socket): Buffer | null {
  const tls = socket as TLSSocket;
  if (!tls.encrypted || typeof tls.getSession !== 'function') return null;
  try {
    const session = tls.getSession();
    if (session === undefined) return null;
    const outer = readTlv(session, 0, session.length);
    if (outer.tag !== Tag.SEQUENCE) return null;
    for (let at = outer.valueStart; at < outer.end; ) {
      const field = readTlv(session, at, outer.end);
      if (field.tag === PEER_FIELD) {
        const certificate = readTlv(session, field.valueStart, field.end);
        return certificate.tag === Tag.SEQUENCE && certificate.end === field.end
          ? session.subarray(certificate.start, certificate.end)
          : null;
      }
      at = field.end;
    }
  } catch {
    // Not what OpenSSL writes (a stand-in socket, another TLS library): the slower way will tell.
  }
  return null;
}
/** SSL_SESSION's `peer [3] EXPLICIT Certificate OPTIONAL`. */
const PEER_FIELD = 0xa3;

/** What the TLS stack said of `leaf` on this connection (and, on a server with several names, the name rule). */
export function peerVerdict(
  socket: Socket,
  leaf: Buffer,
): Pick<PeerInfo, 'authorized' | 'authorizationError' | 'resumed'> {
  return verdict(socket as TLSSocket, leaf);
}

function verdict(tls: TLSSocket, leaf: Buffer | null): Pick<PeerInfo, 'authorized' | 'authorizationError' | 'resumed'> {
  const resumed = typeof tls.isSessionReused === 'function' && tls.isSessionReused();
  if (leaf === null || tls.authorized !== true) {
    return {
      authorized: false,
      authorizationError: leaf && tls.authorizationError ? String(tls.authorizationError) : null,
      resumed,
    };
  }
  const refusal = resumedSessionRefusal(tls, leaf, resumed);
  return { authorized: refusal === null, authorizationError: refusal, resumed };
}

/**
 * Whether a TLS server picks a context per server name (an `SNICallback`, or `addContext`): each
 * name may then have its own `ca`. Node sets `_SNICallback` on exactly those servers' sockets.
 */
export function servesSeveralNames(socket: Socket): boolean {
  return typeof (socket as { _SNICallback?: unknown })._SNICallback === 'function';
}

/**
 * The reason to refuse the TLS stack's verdict on a verified certificate, or null to keep it.
 *
 * A resumed session is not evidence for a server name other than the one that verified it. Node
 * shares one session cache and one ticket key across all of a server's per-name contexts, and a
 * resumption never runs the `SNICallback`: a session verified under one name's `ca` resumes under
 * any other name with the verdict of the first. The session itself cannot tell which name that was:
 * OpenSSL records a name in it only when its own server-name callback accepted the name, and Node
 * picks the per-name context later, in the certificate callback, so a Node server's sessions carry
 * none (TLS 1.2 and 1.3 alike; reading them would cost a `getSession()` for nothing). So on servers
 * with several names:
 * - a full handshake remembers that this certificate was verified for this name;
 * - a TLS 1.3 resumption keeps the verdict only for a certificate remembered for the name this
 *   connection asked for (`servername`);
 * - an older protocol's resumption is refused: OpenSSL then reports the session's name (none)
 *   instead of the one the client asked for, so nothing says which name this is.
 * A server with one context has one `ca`, and its verdicts hold for every connection.
 */
function resumedSessionRefusal(tls: TLSSocket, leaf: Buffer, resumed: boolean): string | null {
  if (!servesSeveralNames(tls)) return null;
  if (resumed && tls.getProtocol() !== 'TLSv1.3') return RESUMED_SESSION.serverNameUnknown;
  const server = (tls as { server?: unknown }).server;
  if (typeof server !== 'object' || server === null) return resumed ? RESUMED_SESSION.serverNameUnknown : null;
  let names = verifiedNames.get(server);
  if (!names) verifiedNames.set(server, (names = new Map()));
  // A client without SNI gets the default context: '' stands for it. Names are compared exactly as
  // sent, as the SNICallback saw them: any other spelling is another name.
  const key = `${typeof tls.servername === 'string' ? tls.servername : ''}\0${createHash('sha256').update(leaf).digest('base64')}`;
  const known = names.delete(key); // re-inserted below: most recently used last
  if (resumed && !known) return RESUMED_SESSION.notVerifiedForServerName;
  names.set(key, true);
  if (names.size > MAX_VERIFIED_NAMES) names.delete(names.keys().next().value!);
  return null;
}
