/**
 * Step 3's route, chosen once at start-up: what makes a presented certificate trusted under this
 * configuration. Configured anchors verify every chain; without them, leaf pins are the trust;
 * without either, a certificate from the TLS connection is trusted on the TLS stack's word, and a
 * forwarded one on a verifying proxy's word, on nobody's (the explicit, logged
 * `dangerouslyTrustAnyForwardedCertificate`), or not at all. Pins narrow whichever route applies.
 *
 * `establishTrust` returns plain data: the verified path (as certificate records, x509/facts.ts:
 * no `X509Certificate` is made) and who verified it, or a refusal that step 5 turns into a problem
 * (the trust layer knows no problem codes).
 */
import type { X509Certificate } from 'node:crypto';
import type { ClientCertificate, Verification } from '../model.js';
import { recordOf } from '../x509/certificate.js';
import { type CertificateRecord, factsOf } from '../x509/facts.js';
import type { Checks } from './path/checks.js';
import {
  type CompiledVerifyPolicy,
  checkKeys,
  checkLeaf,
  readChecks,
  type VerifyFailureCode,
  verifyPath,
} from './path/verify.js';
import { type CompiledPins, matchPinsOnPath } from './pins.js';

/** How one kind of presented certificate (from the TLS connection, or forwarded) is trusted. */
export interface TrustRoute {
  /** `refuse`: nothing can trust it (forwarded certificates with no `ca`, pins or proxy verification). */
  readonly kind: 'chain' | 'pin' | 'tls' | 'proxy' | 'unverified' | 'refuse';
  /** Said at start-up: what trusts a certificate on this route. */
  readonly description: string;
}

export interface TrustStrategy {
  /** The route of certificates from the TLS connection. */
  readonly tls: TrustRoute;
  /** The route of certificates forwarded by a proxy. */
  readonly forwarded: TrustRoute;
  readonly settings: TrustSettings;
  /** The records of `settings.anchors` and `settings.intermediatePool`, found once. */
  readonly records: { readonly anchors: readonly CertificateRecord[]; readonly pool: readonly CertificateRecord[] };
}

/** What the strategy needs of the compiled options. */
export interface TrustSettings {
  readonly anchors: readonly X509Certificate[] | null;
  readonly intermediatePool: readonly X509Certificate[];
  readonly verifyPolicy: CompiledVerifyPolicy;
  readonly pins: CompiledPins | null;
  readonly proxyVerified: boolean;
  /** The named proxy reports its verification on every request: a source without a verdict is not believed. */
  readonly proxyReportsVerdict: boolean;
  readonly unverifiedForwarded: boolean;
  readonly purpose: string;
  readonly clockToleranceMs: number;
  /** How the proxy says it verified (for the start-up line), e.g. ` when ssl-client-verify says SUCCESS`. */
  readonly proxyVerdictText: string;
}

/** What a TLS connection's stack said about its peer. */
export interface TlsVerdict {
  readonly authorized: boolean;
  readonly authorizationError: string | null;
}

/** A forwarding proxy's verdict on this request; undefined when its source carries none. */
export type ProxyVerdictInput = 'verified' | 'failed' | 'none' | null | undefined;

/** A trusted certificate: who vouched for it, the path it was checked along (leaf first), the pin that matched. */
export interface Trusted {
  readonly ok: true;
  readonly by: Verification;
  readonly path: readonly CertificateRecord[];
  readonly pin: string | null;
}

/**
 * Why trust was refused. `tls`: the TLS stack's verdict (OpenSSL's reason). `check`: a failure in
 * path-validation terms; `transient` when time can undo it (kept for a minute, not until evicted).
 */
export type TrustRefusal =
  | { readonly ok: false; readonly kind: 'tls'; readonly reason: string | null }
  | {
      readonly ok: false;
      readonly kind: 'check';
      readonly code: VerifyFailureCode;
      readonly message: string;
      readonly check: string;
      readonly reason?: string;
      readonly transient: boolean;
    };

export function compileTrustStrategy(settings: TrustSettings): TrustStrategy {
  const pins = settings.pins ? `${settings.pins.size} pin(s)` : '';
  const records = { anchors: (settings.anchors ?? []).map(factsOf), pool: settings.intermediatePool.map(factsOf) };
  if (settings.anchors) {
    const chain: TrustRoute = {
      kind: 'chain',
      description: `${settings.anchors.length} trust anchor(s)${pins ? `, narrowed by ${pins}` : ''}`,
    };
    return { tls: chain, forwarded: chain, settings, records };
  }
  if (settings.pins) {
    const pin: TrustRoute = { kind: 'pin', description: `pinned certificates (${pins})` };
    return { tls: pin, forwarded: pin, settings, records };
  }
  // On a server with a client CA per server name, the stack's verdict holds for that name only.
  const tls: TrustRoute = {
    kind: 'tls',
    description:
      'the TLS stack for TLS connections (for its server name only: with several names, a resumed session or a request for another host is refused)',
  };
  const forwarded: TrustRoute = settings.unverifiedForwarded
    ? {
        kind: 'unverified',
        description: 'NOTHING for forwarded certificates (dangerouslyTrustAnyForwardedCertificate)',
      }
    : settings.proxyVerified
      ? { kind: 'proxy', description: `the proxy's verification${settings.proxyVerdictText}` }
      : {
          kind: 'refuse',
          description: 'none for forwarded certificates (no ca, pins or proxy verification: they are refused)',
        };
  return { tls, forwarded, settings, records };
}

/**
 * Establish trust in a presented certificate along the route of its kind, then narrow it with
 * pins. `tls`: the TLS stack's verdict for a certificate from the connection, null for a forwarded one.
 */
export function establishTrust(
  strategy: TrustStrategy,
  certificate: ClientCertificate,
  tls: TlsVerdict | null,
  proxyVerdict: ProxyVerdictInput,
  at: Date,
): Trusted | TrustRefusal {
  const settings = strategy.settings;
  const route = tls !== null ? strategy.tls : strategy.forwarded;
  const leaf = recordOf(certificate);
  const checked =
    route.kind === 'chain'
      ? chainToAnchors(strategy, leaf, certificate, at)
      : vouched(settings, route, leaf, certificate, tls, proxyVerdict, at);
  if (!checked.ok || !settings.pins) return checked;
  const matched = matchPinsOnPath(settings.pins, leaf, checked.path);
  if (!matched.ok) return refusal('untrusted', matched.message, 'pins');
  return { ok: true, by: checked.by, path: checked.path, pin: matched.matched };
}

/** The checks of one decision at `at`. */
function checksAt(settings: TrustSettings, at: Date): Checks {
  return readChecks({
    at,
    purpose: settings.purpose,
    clockToleranceSeconds: settings.clockToleranceMs / 1000,
    policy: settings.verifyPolicy,
  });
}

/** Path validation to the configured anchors. */
function chainToAnchors(
  strategy: TrustStrategy,
  leaf: CertificateRecord,
  certificate: ClientCertificate,
  at: Date,
): Trusted | TrustRefusal {
  const others = [...certificate.chain.map(recordOf), ...strategy.records.pool];
  const result = verifyPath(leaf, others, strategy.records.anchors, checksAt(strategy.settings, at));
  // `message` is the same for every path that reaches no anchor (it becomes the problem detail,
  // and must not tell a prober which names are anchors); `reason` says why, for logs only.
  if (!result.ok) {
    return { ...refusal(result.code, result.message, `chain.${result.code}`, true), reason: result.reason };
  }
  return { ok: true, by: 'chain', path: result.path, pin: null };
}

/** A certificate this library does not verify to an anchor: whoever vouches for it, then its own checks. */
function vouched(
  settings: TrustSettings,
  route: TrustRoute,
  leaf: CertificateRecord,
  certificate: ClientCertificate,
  tls: TlsVerdict | null,
  proxyVerdict: ProxyVerdictInput,
  at: Date,
): Trusted | TrustRefusal {
  const voucher = vouch(settings, route, tls, proxyVerdict);
  return voucher.ok ? checkVouched(settings, leaf, certificate, voucher.by, at) : voucher;
}

/** Who vouches for a certificate this library does not verify to an anchor (pins, the TLS stack, a proxy). */
function vouch(
  settings: TrustSettings,
  route: TrustRoute,
  tls: TlsVerdict | null,
  proxyVerdict: ProxyVerdictInput,
): { readonly ok: true; readonly by: Verification } | TrustRefusal {
  switch (route.kind) {
    case 'pin':
      return PIN; // checked with the other pins afterwards: without `ca` a leaf pin is the trust
    case 'tls':
      return tls && !tls.authorized ? { ok: false, kind: 'tls', reason: tls.authorizationError } : TLS;
    case 'proxy':
      return proxyVouches(settings, proxyVerdict);
    case 'unverified':
      return UNVERIFIED; // dangerouslyTrustAnyForwardedCertificate: the configuration's explicit, logged choice
    default:
      return refusal('untrusted', 'No trust anchors are configured for forwarded client certificates.', 'trust');
  }
}

const PIN = { ok: true, by: 'pin' } as const;
const TLS = { ok: true, by: 'tls' } as const;
const PROXY = { ok: true, by: 'proxy' } as const;
const UNVERIFIED = { ok: true, by: 'none' } as const;

/**
 * A proxy that reports its verification per request is believed only when it says "verified"; a
 * proxy known to report it (nginx, HAProxy, Cloudflare, ALB verify mode) is not believed on a
 * source that carries no verdict (`{ proxy: 'nginx', source: 'xfcc' }`).
 */
function proxyVouches(settings: TrustSettings, verdict: ProxyVerdictInput): typeof PROXY | TrustRefusal {
  if (verdict === 'verified' || (verdict === undefined && !settings.proxyReportsVerdict)) return PROXY;
  const message =
    verdict === 'failed'
      ? 'The proxy reported that the client certificate failed verification.'
      : 'The proxy did not report verifying the client certificate.';
  return refusal('untrusted', message, 'proxy');
}

/** Trusted on the TLS stack's, a pin's or a proxy's word: the certificate's own checks and the key policy still hold. */
function checkVouched(
  settings: TrustSettings,
  leaf: CertificateRecord,
  certificate: ClientCertificate,
  by: Verification,
  at: Date,
): Trusted | TrustRefusal {
  const own = checkLeaf(leaf, checksAt(settings, at));
  if (!own.ok) return refusal(own.code, own.message, `certificate.${own.code}`, true);
  const path = [leaf, ...certificate.chain.map(recordOf)];
  // Bounded RSA, named curves: as on the paths this library verifies itself.
  const keys = checkKeys(path, settings.verifyPolicy);
  if (!keys.ok) return refusal(keys.code, keys.message, `certificate.${keys.code}`);
  return { ok: true, by, path, pin: null };
}

function refusal(code: VerifyFailureCode, message: string, check: string, transient = false): TrustRefusal {
  return { ok: false, kind: 'check', code, message, check, transient };
}
