import type { Socket } from 'node:net';
import type { DetailedPeerCertificate, TLSSocket } from 'node:tls';

/** What the TLS connection says about its peer, read once per connection. */
export interface PeerInfo {
  /** DER of the leaf the client presented, or null when it presented none. */
  readonly leaf: Buffer | null;
  /** DER of the other certificates of the peer's chain (leaf excluded), nearest first. */
  readonly chain: readonly Buffer[];
  /** Whether Node's TLS stack verified the peer against the server's `ca`. */
  readonly authorized: boolean;
  /** OpenSSL's reason when not authorized (e.g. `CERT_HAS_EXPIRED`). */
  readonly authorizationError: string | null;
}

const PEER = Symbol.for('clientcert.peer');
const MAX_CHAIN = 10;

type CachingSocket = TLSSocket & { [PEER]?: PeerInfo };

/**
 * Read the peer certificate and chain of a TLS connection, once: the result is kept on the socket
 * because `getPeerCertificate(true)` costs ~150 µs and, on Node 20, the chain is gone after the
 * first `getPeerX509Certificate()` call. Returns null for a plain-TCP connection.
 */
export function readPeer(socket: Socket): PeerInfo | null {
  const tls = socket as CachingSocket;
  if (!tls.encrypted || typeof tls.getPeerCertificate !== 'function') return null;
  const cached = tls[PEER];
  if (cached) return cached;

  const detailed = tls.getPeerCertificate(true) as DetailedPeerCertificate | null;
  // A resumed TLS session can report `authorized` with no certificate at all (nodejs/node#35317):
  // getPeerCertificate() then returns an empty object. That is "no certificate", never "verified".
  const leaf = detailed && Buffer.isBuffer(detailed.raw) && detailed.raw.length > 0 ? detailed.raw : null;
  const chain: Buffer[] = [];
  if (leaf && detailed) {
    let current = detailed;
    while (chain.length < MAX_CHAIN) {
      const next = current.issuerCertificate;
      // A self-signed root is its own issuerCertificate; stop there.
      if (!next || next === current || !Buffer.isBuffer(next.raw) || next.raw.equals(current.raw)) break;
      chain.push(next.raw);
      current = next;
    }
  }
  const info: PeerInfo = {
    leaf,
    chain,
    authorized: leaf !== null && tls.authorized === true,
    authorizationError: leaf && tls.authorizationError ? String(tls.authorizationError) : null,
  };
  tls[PEER] = info;
  return info;
}
