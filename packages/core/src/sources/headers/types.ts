/**
 * The public types of the forwarded-header sources: their options, what a source compiles to,
 * and what reading one returns. The formats themselves are decoded in this folder's other files.
 */
/** Header formats this module decodes (XFCC lives in xfcc.ts). */
export type HeaderSourceName = 'rfc9440' | 'traefik' | 'url-pem' | 'base64-der' | 'aws-alb';

export const HEADER_SOURCE_NAMES: readonly HeaderSourceName[] = Object.freeze([
  'rfc9440',
  'traefik',
  'url-pem',
  'base64-der',
  'aws-alb',
]);

/**
 * What a proxy said about its own verification of this request's client certificate:
 * `verified` (e.g. nginx `SUCCESS`, HAProxy `0`, AWS ALB verify mode), `failed` (any other value
 * of a configured verify header, e.g. `FAILED:certificate has expired`, Apache `GENEROUS`), `none`
 * (the proxy says no certificate was presented, e.g. `NONE`).
 */
export type ProxyVerdict = 'verified' | 'failed' | 'none';

/** The fields a proxy can describe a forwarded certificate with, besides the certificate itself. */
export type DescriptionField = 'subjectDn' | 'issuerDn' | 'serial' | 'sha256' | 'sha1';

export const DESCRIPTION_FIELDS: readonly DescriptionField[] = Object.freeze([
  'subjectDn',
  'issuerDn',
  'serial',
  'sha256',
  'sha1',
]);

/**
 * Headers in which the proxy describes the certificate it forwards (`describedBy`). Names are
 * matched lower-case, as Node delivers them. Conventions:
 * - ingress-nginx: `ssl-client-subject-dn`, `ssl-client-issuer-dn` (nginx `$ssl_client_s_dn` /
 *   `$ssl_client_i_dn`, RFC 2253 with non-ASCII bytes as `\XX`); always sent with client auth on.
 * - nginx: any names for `$ssl_client_s_dn`, `$ssl_client_i_dn`, `$ssl_client_serial`,
 *   `$ssl_client_fingerprint` (SHA-1).
 * - AWS ALB verify mode: `x-amzn-mtls-clientcert-subject`, `-issuer`, `-serial-number`.
 * - Cloudflare managed transform: `cf-cert-sha256`, `cf-cert-sha1`, `cf-cert-serial`,
 *   `cf-cert-subject-dn-rfc2253`, `cf-cert-issuer-dn-rfc2253`.
 * - HAProxy: `%[ssl_c_s_dn(,0,rfc2253)]`, `%[ssl_c_i_dn(,0,rfc2253)]`, `%[ssl_c_serial,hex]`,
 *   `%[ssl_c_sha1,hex]` (the default one-line `/C=../CN=..` DN form cannot be compared).
 */
export interface DescriptionHeaders {
  /** The subject DN as an RFC 4514 / RFC 2253 string. */
  subjectDn?: string;
  /** The issuer DN as an RFC 4514 / RFC 2253 string. */
  issuerDn?: string;
  /** The serial number in hex (any case; leading zeros and `:` separators allowed). */
  serial?: string;
  /** Hex SHA-256 of the certificate's DER (any case, `:` separators allowed). */
  sha256?: string;
  /** Hex SHA-1 of the certificate's DER (nginx `$ssl_client_fingerprint`). */
  sha1?: string;
  /**
   * The proxy always sends these with a certificate it forwarded: a certificate header without
   * them did not come from the proxy and is refused. An absent subject header alone means an
   * empty subject (nginx and the others leave out a header whose value is empty).
   */
  required?: boolean;
}

/**
 * What the proxy said about the forwarded certificate: the raw values of the `describedBy`
 * headers that were present (attacker-proof only as far as the proxy overwrites them; never
 * echoed). Compare it with the parsed certificate with `descriptionMismatch` (proxy-description.ts).
 */
export type ForwardedDescription = { readonly [K in DescriptionField]?: string };

/** A certificate (and the chain presented with it) decoded from forwarded headers. */
export interface ForwardedCertificate {
  /** The source that decoded it (`custom` for a custom decoder). */
  readonly source: HeaderSourceName | 'custom';
  /** DER of the client's leaf certificate (outer framing checked, not yet parsed). */
  readonly leaf: Buffer;
  /** DER of the other presented certificates, in the order sent, never including the leaf. */
  readonly chain: readonly Buffer[];
  /**
   * The proxy's verdict when the source has one (a configured verify header, or `aws-alb` in
   * verify mode, which is always `verified`); `null` when the format carries none, or when a
   * configured verify header is absent (treat that as "not verified"). A certificate arriving
   * with a `none` verdict is never returned: that combination throws (see readHeaderSource).
   */
  readonly proxyVerdict: ProxyVerdict | null;
  /**
   * The proxy's description of the certificate, when the source has `describedBy` and at least
   * one of its headers was sent: it must agree with the certificate (`descriptionMismatch`).
   */
  readonly description?: ForwardedDescription;
}

/** A custom decoder: the header value (already length/character-checked) to DER. */
export type CustomHeaderDecoder = (
  value: string,
) => Buffer | Uint8Array | Array<Buffer | Uint8Array> | undefined | null;

export interface HeaderSourceLimits {
  /** Longest value accepted for any header of the source, in characters (default 65536). */
  maxLength?: number;
  /** Most certificates accepted besides the leaf (default 10). */
  maxChainLength?: number;
}

/**
 * 64 KiB: four times Node's default limit for the whole header section (16 KiB), as for XFCC, so it
 * never rejects what Node let through by default yet bounds the work when that limit is raised.
 */
export const DEFAULT_HEADER_SOURCE_LIMITS: Readonly<Required<HeaderSourceLimits>> = Object.freeze({
  maxLength: 65536,
  maxChainLength: 10,
});

/**
 * A header carrying the proxy's verification result. `success` values mean `verified`, `none`
 * values mean "no certificate was presented"; any other value (including a repeated header,
 * which Node joins with `", "`) means `failed`. Values are compared exactly (case-sensitive).
 * A string is shorthand for nginx's vocabulary: `{ name, success: ['SUCCESS'], none: ['NONE'] }`.
 */
export interface VerifyHeaderOption {
  name: string;
  success: readonly string[];
  none?: readonly string[];
}

export interface CommonOptions {
  /** The certificate header (lower- or mixed-case; matched lower-case as Node delivers it). */
  header?: string;
  /** The proxy's verification header, if it sends one; see VerifyHeaderOption. */
  verifyHeader?: string | VerifyHeaderOption;
  /** Headers in which the proxy also describes the certificate; `false` for none. See DescriptionHeaders. */
  describedBy?: DescriptionHeaders | false;
  limits?: HeaderSourceLimits;
}

export interface Rfc9440SourceOptions extends CommonOptions {
  source: 'rfc9440';
  /** Default `client-cert-chain`; `false` to ignore the chain. */
  chainHeader?: string | false;
}

export interface TraefikSourceOptions extends CommonOptions {
  source: 'traefik';
  /** Default `x-forwarded-tls-client-cert-info` (read only by readTraefikInfo); `false` for none. */
  infoHeader?: string | false;
}

export interface UrlPemSourceOptions extends CommonOptions {
  source: 'url-pem';
}

export interface Base64DerSourceOptions extends CommonOptions {
  source: 'base64-der';
  /** A header with base64 of the other certificates' DER concatenated (HAProxy `%[ssl_c_chain_der,base64]`). No default. */
  chainHeader?: string | false;
}

export interface AwsAlbSourceOptions extends CommonOptions {
  source: 'aws-alb';
  /**
   * The listener's mutual-authentication mode (default `passthrough`). `passthrough` reads the
   * whole presented chain from `x-amzn-mtls-clientcert`, and the app must verify it (no verdict);
   * `verify` reads `x-amzn-mtls-clientcert-leaf`, which the ALB only sends for certificates it
   * verified (verdict `verified`). It must match the ALB: the ALB does not document removing
   * client-sent `X-Amzn-Mtls-*` headers, so reading the other mode's header reads the client's.
   */
  mode?: 'passthrough' | 'verify';
}

export interface CustomSourceOptions extends Omit<CommonOptions, 'header'> {
  source?: 'custom';
  header: string;
  decode: CustomHeaderDecoder;
}

export type HeaderSourceOptions =
  | Rfc9440SourceOptions
  | TraefikSourceOptions
  | UrlPemSourceOptions
  | Base64DerSourceOptions
  | AwsAlbSourceOptions
  | CustomSourceOptions;

export interface CompiledVerifyHeader {
  readonly name: string;
  readonly success: readonly string[];
  readonly none: readonly string[];
}

/** `describedBy`, validated: lower-case header names (null where not configured). */
export type CompiledDescriptionHeaders = { readonly [K in DescriptionField]: string | null } & {
  readonly required: boolean;
};

/** A validated, frozen header source; build it once with {@link compileHeaderSource}. */
export interface CompiledHeaderSource {
  readonly source: HeaderSourceName | 'custom';
  /** The header whose presence means "a certificate was forwarded" (lower-case). */
  readonly header: string;
  readonly chainHeader: string | null;
  /** Traefik only: the `-Info` header, read by readTraefikInfo, never by readHeaderSource. */
  readonly infoHeader: string | null;
  readonly verifyHeader: CompiledVerifyHeader | null;
  /** aws-alb only. */
  readonly mode: 'passthrough' | 'verify' | null;
  /**
   * True when this source reports a verdict for each request (a verify header, or aws-alb verify
   * mode): then a missing or non-`verified` verdict must not count as proxy verification.
   */
  readonly hasVerdict: boolean;
  /** The proxy's description headers, or null. */
  readonly describedBy: CompiledDescriptionHeaders | null;
  /**
   * Every header this source reads, lower-case (description headers included): for the
   * trusted-proxy check, its reports, and the memo of decisions keyed by these headers' values.
   */
  readonly headers: readonly string[];
  readonly limits: Readonly<Required<HeaderSourceLimits>>;
  /** E.g. `rfc9440 (client-cert, client-cert-chain)`, for start-up reports. */
  readonly description: string;
  readonly decode: CustomHeaderDecoder | null;
}
