/**
 * A TLS peer a runtime describes (its certificate, the chain it sent, the TLS stack's verdict),
 * given to the core as the connection it would read from Node: the core's TLS source, with its
 * trust rules (the stack's verdict counts only without `ca` or `pins`), applies unchanged.
 */
import { X509Certificate } from 'node:crypto';
import type { Socket } from 'node:net';
import { ClientCertError } from '@clientcert/core';

/** Certificates as PEM text or DER bytes. */
export type CertificateInput = string | Uint8Array;

/** What a server that ends TLS itself can say about the connection's peer. */
export interface TlsPeer {
  /** The certificate the client presented (PEM or DER), or null when it presented none. */
  readonly certificate: CertificateInput | null;
  /** The other certificates the client sent, nearest first (PEM or DER); not the server's own CAs. */
  readonly chain?: readonly CertificateInput[];
  /** Whether the TLS stack verified the client against the server's CA (counts only without `ca` or `pins`). */
  readonly authorized: boolean;
  /** The TLS stack's reason when not authorized (e.g. OpenSSL's `CERT_HAS_EXPIRED`). */
  readonly authorizationError?: string | null;
}

const MAX_CHAIN = 10;

/**
 * A stand-in for Node's TLS socket, made fresh for each request: nothing is kept per connection
 * (a runtime's request names no connection), so each request is decided from its own facts (a
 * certificate's decision is still cached by the core, keyed by the certificate itself).
 * Throws `certificate_malformed` when `peer` holds something that is not a certificate.
 */
export function tlsConnection(peer: TlsPeer, remoteAddress: string | undefined): Socket {
  const leaf = peer.certificate === null ? null : certificateOf(peer.certificate, 'tls.certificate');
  const chain = (peer.chain ?? []).slice(0, MAX_CHAIN).map((c, i) => certificateOf(c, `tls.chain[${i}]`));
  // Node links a peer's certificates through `issuerCertificate`; the core walks those links.
  const linked = leaf === null ? [] : [leaf, ...chain];
  for (let i = 0; i < linked.length; i++) {
    Object.defineProperty(linked[i], 'issuerCertificate', { value: linked[i + 1] });
  }
  const connection = {
    encrypted: true,
    remoteAddress,
    authorized: peer.authorized === true && leaf !== null,
    authorizationError: peer.authorizationError ?? null,
    getPeerX509Certificate: () => leaf ?? undefined,
    isSessionReused: () => false,
  };
  return connection as unknown as Socket;
}

function certificateOf(input: CertificateInput, name: string): X509Certificate {
  try {
    if (typeof input !== 'string' && !(input instanceof Uint8Array)) throw new TypeError('not PEM or DER');
    return new X509Certificate(typeof input === 'string' ? input : Buffer.from(input));
  } catch (cause) {
    throw new ClientCertError(
      'certificate_malformed',
      `clientcert: connection ${name} is not a certificate: pass the peer certificate your server's TLS stack gives, as PEM text or DER bytes`,
      { cause, status: 500 },
    );
  }
}
