import type { X509Certificate } from 'node:crypto';

/** One attribute of a distinguished name, e.g. `{ type: 'CN', oid: '2.5.4.3', value: 'alice' }`. */
export interface NameAttribute {
  /** Short name when known (CN, O, OU, C, ST, L, DC, UID, emailAddress, serialNumber, ...), else the dotted OID. */
  readonly type: string;
  readonly oid: string;
  readonly value: string;
}

/** A parsed X.500 distinguished name. */
export interface DistinguishedName {
  /** RFC 4514 string: most specific RDN first, e.g. `CN=alice,O=Acme\, Inc.,C=US`. */
  readonly rfc4514: string;
  /** RDNs in certificate (DER) order, most general first; each RDN is a set of attributes. */
  readonly rdns: readonly (readonly NameAttribute[])[];
  /** All attributes flattened, in DER order. */
  readonly attributes: readonly NameAttribute[];
  /** First value of an attribute by short name (case-insensitive) or OID. */
  get(type: string): string | undefined;
  /** Every value of an attribute by short name (case-insensitive) or OID, in DER order. */
  getAll(type: string): string[];
  /** Same as `rfc4514`. */
  toString(): string;
}

export interface SubjectAltNames {
  readonly dns: readonly string[];
  readonly uri: readonly string[];
  readonly email: readonly string[];
  /** IPv4 dotted or IPv6 in canonical compressed form. */
  readonly ip: readonly string[];
}

/** Where the certificate came from: the TLS connection or a forwarded header format. */
export type SourceName = 'tls' | 'xfcc' | 'rfc9440' | 'traefik' | 'url-pem' | 'base64-der' | 'aws-alb' | 'custom';

/** How the certificate's trust was established. */
export type Verification =
  /** The Node.js TLS stack verified it against the server's `ca` (socket.authorized). */
  | 'tls'
  /** This library built and verified a chain to the configured trust anchors (`ca`). */
  | 'chain'
  /** The configuration declares that the forwarding proxy verified it (`proxyVerified`). */
  | 'proxy'
  /** It matched a pinned leaf (`pins`) and no `ca` is configured. */
  | 'pin'
  /** Nobody verified it: a forwarded certificate under `dangerouslyTrustAnyForwardedCertificate`. */
  | 'none';

/**
 * Your identity names, for TypeScript: empty here, augment it by declaration merging and
 * `clientCert.authorization.identity` and `rules.identities[].name` are typed as those names:
 *
 *     declare module '@clientcert/core' {
 *       interface ClientCertIdentities { admin: true; reader: true }
 *     }
 *
 * Name every identity then: an unnamed one reports `identities[<index>]`.
 */
// biome-ignore lint/suspicious/noEmptyInterface: apps add identity names by declaration merging
export interface ClientCertIdentities {}

/** `string` until `ClientCertIdentities` is augmented, then the union of its keys. */
export type IdentityName = [keyof ClientCertIdentities] extends [never]
  ? string
  : Extract<keyof ClientCertIdentities, string>;

/** Which pin and which identity admitted the certificate (names from the configuration). */
export interface Authorization {
  /** The pin that matched, or null when no pins are configured. */
  readonly pin: string | null;
  /** The identity (`rules.identities[].name`, or its index) that matched, or null without identities. */
  readonly identity: IdentityName | null;
}

/**
 * The normalized client certificate exposed as `req.clientCert`.
 *
 * Immutable: writing throws in strict mode (a TypeError), in sloppy mode it is ignored. The same
 * certificate is shared by every request that presents it, so nothing reachable from it can be
 * changed (names, SANs, fingerprints, `chain`, `authorization` and the lists in them are frozen;
 * `x509` is frozen too). `raw`, `notBefore` and `notAfter` cannot be frozen, so each read returns
 * a new copy: change yours as you like, no other request sees it.
 */
export interface ClientCertificate {
  readonly subject: DistinguishedName;
  readonly issuer: DistinguishedName;
  /** Upper-case hex of the DER integer's content, as node:crypto reports it, e.g. `0A1B`. */
  readonly serialNumber: string;
  /** A new Date on each read. */
  readonly notBefore: Date;
  /** A new Date on each read. */
  readonly notAfter: Date;
  /** Lower-case hex digests of the DER. */
  readonly fingerprints: { readonly sha1: string; readonly sha256: string };
  readonly san: SubjectAltNames;
  /** The SPIFFE ID when the certificate has exactly one `spiffe://` URI SAN, else null. */
  readonly spiffeId: string | null;
  /** Extended key usage OIDs (empty when the extension is absent). */
  readonly extKeyUsage: readonly string[];
  readonly isCA: boolean;
  readonly pem: string;
  /** The DER bytes: a new copy on each read (a Buffer cannot be frozen); read it once where speed matters. */
  readonly raw: Buffer;
  /**
   * Node's parsed certificate, for anything not normalized here. Frozen; its `raw` (and on Node
   * 22.10+ `validFromDate` / `validToDate`) return copies, its `keyUsage` list is frozen.
   */
  readonly x509: X509Certificate;
  /** The other certificates the client presented (leaf excluded), in the order presented. */
  readonly chain: readonly ClientCertificate[];
  /** Set by the pipeline; `null` until known. */
  readonly source: SourceName | null;
  readonly verifiedBy: Verification | null;
  /** What admitted it under this configuration; null until known. */
  readonly authorization: Authorization | null;
}
