import type { X509Certificate } from 'node:crypto';
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
  /** Whether Node's TLS stack verified the peer against the server's `ca`. */
  readonly authorized: boolean;
  /** OpenSSL's reason when not authorized (e.g. `CERT_HAS_EXPIRED`). */
  readonly authorizationError: string | null;
}

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
  const cached = peers.get(socket);
  if (cached) return cached;

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
  const info: PeerInfo = {
    leaf,
    chain,
    certificates,
    authorized: leaf !== null && tls.authorized === true,
    authorizationError: leaf && tls.authorizationError ? String(tls.authorizationError) : null,
  };
  peers.set(socket, info);
  return info;
}
