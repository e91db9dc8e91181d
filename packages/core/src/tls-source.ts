import { createHash, type X509Certificate } from 'node:crypto';
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';

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
const verifiedNames: WeakMap<object, Map<string, true>> = ((globalThis as { [VERIFIED_KEY]?: WeakMap<object, Map<string, true>> })[VERIFIED_KEY] ??=
  new WeakMap<object, Map<string, true>>());
const MAX_VERIFIED_NAMES = 10_000;

/**
 * Read the peer certificate and chain of a TLS connection, once, and keep the result for the
 * connection. `getPeerX509Certificate()` (~1 µs) and its `issuerCertificate` links give exactly the
 * certificates the client sent (OpenSSL's peer chain; the server's own trust store is not mixed
 * in), where `getPeerCertificate(true)` costs ~50 µs per certificate and appends issuers from the
 * server's `ca`. On Node 20 the first `getPeerX509Certificate()` call also takes the chain off the
 * socket, so it must be read here, once. Returns null for a plain-TCP connection.
 */
export function readPeer(socket: Socket): PeerInfo | null {
  const tls = socket as TLSSocket;
  if (!tls.encrypted || typeof tls.getPeerX509Certificate !== 'function') return null;
  // Kept by a copy of this library that predates `resumed`? Its verdict lacks the rule below.
  const cached: Omit<PeerInfo, 'resumed'> | undefined = peers.get(socket);
  if (cached) return 'resumed' in cached ? cached as PeerInfo : remember(socket, { ...cached, ...verdict(tls, cached.leaf) });

  // A resumed TLS session can report `authorized` with no certificate at all (nodejs/node#35317):
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
  }
  return remember(socket, { leaf, chain, certificates, ...verdict(tls, leaf) });
}

function remember(socket: Socket, info: PeerInfo): PeerInfo {
  peers.set(socket, info);
  return info;
}

/** The TLS stack's verdict on `leaf`, as far as it holds for this connection's server name. */
function verdict(tls: TLSSocket, leaf: Buffer | null): Pick<PeerInfo, 'authorized' | 'authorizationError' | 'resumed'> {
  const resumed = typeof tls.isSessionReused === 'function' && tls.isSessionReused();
  if (leaf === null || tls.authorized !== true) {
    return { authorized: false, authorizationError: leaf && tls.authorizationError ? String(tls.authorizationError) : null, resumed };
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
