/**
 * Steps 2-4 for one presented chain: parse → trust → revocation window → authorize, memoised by
 * the chain's own bytes. A source hands over a `Presented` record; what comes back is a decision
 * (now, or once revocation data has been fetched).
 */
import { createHash } from 'node:crypto';
import { evaluateRules, type RuleResult } from '../authorize/rules.js';
import {
  ALWAYS,
  asRejection,
  type Decided,
  type Decision,
  NEVER,
  type Rejection,
  reject,
  trustRefused,
} from '../decide/decide.js';
import type { ClientCertificate, SourceName } from '../model.js';
import type { ProxyVerdict } from '../sources/headers.js';
import { type PeerInfo, RESUMED_SESSION } from '../sources/tls.js';
import type { RevocationResult } from '../trust/revocation/index.js';
import { establishTrust } from '../trust/strategy.js';
import { parseCertificate, releaseLayout, sealCertificate } from '../x509/certificate.js';
import type { CertificateRecord } from '../x509/facts.js';
import { x509Path } from '../x509/path-view.js';
import { cachedIn, type Pipeline } from './cache.js';
import { decidedNow, type Trace } from './observe.js';

/** What a source found: the certificates as sent, and what the TLS stack or the proxy said of them. */
export interface Presented {
  readonly source: SourceName;
  readonly leaf: Buffer;
  /** The other certificates sent (a copy of the leaf among them is skipped). */
  readonly chain: readonly Buffer[];
  /** The TLS connection's peer, for a certificate from the TLS connection; else null. */
  readonly peer: PeerInfo | null;
  /** A header source's per-request verdict of the proxy (undefined: the source reports none). */
  readonly verdict: ProxyVerdict | null | undefined;
}

/**
 * The decision for one presented chain, shared by every connection and header value that carries
 * it: keyed by a digest of the DER itself (and, for TLS, what the TLS stack said), so a key can
 * only ever find the decision about those exact bytes.
 */
export function decidePresented(pipeline: Pipeline, trace: Trace | null, presented: Presented): Decided {
  return cachedIn(pipeline.options, pipeline.caches.perChain, presentedKey(presented), () => {
    decidedNow(trace);
    return evaluatePresented(pipeline, presented);
  });
}

function evaluatePresented(pipeline: Pipeline, presented: Presented): Decided {
  try {
    const certificate = parsePresented(pipeline, presented);
    return released(identified(presented.leaf, certificate, trustAndAuthorize(pipeline, certificate, presented)));
  } catch (error) {
    return { certificate: null, error: asRejection(error), fingerprint: sha256Hex(presented.leaf), ...ALWAYS };
  }
}

/**
 * Step 2: the leaf and the chain as certificates (throws `certificate_malformed`), read from the
 * DER even over TLS, where Node may hold objects of its own: a cached decision must not keep an
 * `X509Certificate` (~10 KB outside the heap) that no handler asked for.
 */
function parsePresented(pipeline: Pipeline, { source, leaf, chain }: Presented): ClientCertificate {
  // Envoy's Chain includes the leaf; Azure Container Apps documents intermediates only. Accept both.
  const presented = chain.flatMap((der) => (der.equals(leaf) ? [] : [chainCertificate(pipeline, der)]));
  const certificate = sealCertificate(parseCertificate(leaf), {
    source,
    chain: sameChain(pipeline.caches.lastChain, presented),
    verifiedBy: null,
    authorization: null,
  });
  pipeline.caches.lastChain = certificate.chain;
  return certificate;
}

/** The last sealed chain when `presented` holds the same intermediates: the clients of a CA share one array. */
function sameChain(
  last: readonly ClientCertificate[],
  presented: ClientCertificate[],
): readonly ClientCertificate[] | ClientCertificate[] {
  if (last.length !== presented.length) return presented;
  for (let i = 0; i < last.length; i++) if (last[i] !== presented[i]) return presented;
  return last;
}

/** An intermediate, shared by every chain that carries the same bytes. */
function chainCertificate(pipeline: Pipeline, der: Buffer): ClientCertificate {
  const issuers = pipeline.caches.issuers;
  const key = der.toString('latin1');
  let known = issuers.get(key);
  if (known === undefined) issuers.set(key, (known = parseCertificate(der))); // throws certificate_malformed, uncached
  return known;
}

/** Step 3 along the compiled trust route, then the revocation window, then step 4. */
function trustAndAuthorize(pipeline: Pipeline, certificate: ClientCertificate, presented: Presented): Decided {
  const options = pipeline.options;
  const at = options.clock();
  const trusted = establishTrust(options.trust, certificate, presented.peer, presented.verdict, at);
  if (!trusted.ok) {
    return trusted.kind === 'tls'
      ? { certificate: null, error: tlsRejection(trusted.reason), ...ALWAYS }
      : trustRefused(trusted, at);
  }
  // Immutable from here on: the decision is cached and handed to every request with this chain.
  const sealed = sealCertificate(certificate, {
    verifiedBy: trusted.by,
    authorization: { pin: trusted.pin, identity: null },
  });
  const revocation = options.revocation;
  if (!revocation) return authorize(pipeline, sealed, trusted.path, Infinity);
  // The public checker takes Node objects: a view that makes none unless read (x509/path-view.ts).
  const status = revocation.check(x509Path(trusted.path), at);
  return status instanceof Promise
    ? status.then((result) => afterRevocation(pipeline, sealed, trusted.path, result))
    : afterRevocation(pipeline, sealed, trusted.path, status);
}

function afterRevocation(
  pipeline: Pipeline,
  certificate: ClientCertificate,
  path: readonly CertificateRecord[],
  result: RevocationResult,
): Decision {
  const decided = pipeline.options.revocation!.decide(result);
  // Held until the revocation data runs out or, after a transient failure (timeout, stale CRL),
  // until its source may be tried again: during an outage requests are answered from the cache.
  // 0, or a time already past (a fetch still in flight), is decided again next time.
  if (!decided.ok) {
    const window = decided.cacheUntil > 0 ? { checkFrom: -Infinity, checkUntil: decided.cacheUntil } : NEVER;
    return { certificate: null, error: reject(decided.code, decided.message, 'revocation'), ...window };
  }
  if (decided.warning) pipeline.warnings.revocationSoftFail(decided.warning);
  return authorize(pipeline, certificate, path, decided.cacheUntil);
}

/**
 * Step 4, once the certificate is trusted. The decision is reused until the first certificate of
 * the path expires (or before one is valid), or the revocation data runs out (`revocationUntil`;
 * 0 = do not reuse).
 */
function authorize(
  pipeline: Pipeline,
  certificate: ClientCertificate,
  path: readonly CertificateRecord[],
  revocationUntil: number,
): Decision {
  const { rules, clockToleranceMs } = pipeline.options;
  const validity = path.map((record) => record.validity);
  const window =
    revocationUntil === 0
      ? NEVER
      : {
          checkFrom: Math.max(...validity.map((v) => v.from)) - clockToleranceMs,
          checkUntil: Math.min(revocationUntil, ...validity.map((v) => v.until + clockToleranceMs)),
        };
  // Written out, not spread: the engine then keeps all four fields in the object itself (a cached
  // decision per client of a fleet; a spread adds a second array for the last two).
  if (!rules) return { certificate, error: null, checkFrom: window.checkFrom, checkUntil: window.checkUntil };
  // Rules see the path as Node objects (`RuleContext.chain`), made only if a rule reads one.
  const chain = x509Path(path);
  // A predicate may depend on time or state, so its verdict is never cached: it runs per request.
  if (rules.hasPredicate) return { certificate, error: null, ...window, pendingRules: chain };
  const verdict = evaluateRules(rules, certificate, { chain }) as RuleResult;
  const { certificate: admitted, error } = ruled(certificate, verdict);
  return { certificate: admitted, error, checkFrom: window.checkFrom, checkUntil: window.checkUntil };
}

/** The certificate admitted by the rules (naming the identity), or the rule that refused it. */
export function ruled(certificate: ClientCertificate, verdict: RuleResult): Pick<Decision, 'certificate' | 'error'> {
  if (!verdict.ok) {
    return {
      certificate: null,
      error: reject('client_certificate_rejected', verdict.message, `rules.${verdict.failed}`),
    };
  }
  // A view of its own (parsed state shared): with a predicate this runs per request, and one
  // request's identity must never show in another's certificate.
  const authorization = { pin: certificate.authorization?.pin ?? null, identity: verdict.matched };
  return { certificate: sealCertificate(certificate, { authorization }), error: null };
}

/** A decision made: the admitted leaf keeps only what was derived from its layout (it is cached). */
function released(decided: Decided): Decided {
  if (decided instanceof Promise) return decided.then((decision) => released(decision) as Decision);
  if (decided.certificate) releaseLayout(decided.certificate);
  return decided;
}

/**
 * A refusal of a presented certificate keeps the leaf's fingerprint, subject and issuer, for
 * decision events and the rejection log line (decided once, then cached).
 */
function identified(leaf: Buffer, certificate: ClientCertificate, decided: Decided): Decided {
  if (decided instanceof Promise) return decided.then((settled) => identified(leaf, certificate, settled) as Decision);
  if (!decided.error || decided.fingerprint) return decided;
  const names = { subject: certificate.subject.rfc4514, issuer: certificate.issuer.rfc4514 };
  return { ...decided, fingerprint: sha256Hex(leaf), ...names };
}

/** OpenSSL's reasons (socket.authorizationError) mapped to rejection codes. */
function tlsRejection(reason: string | null): Rejection {
  switch (reason) {
    case 'CERT_HAS_EXPIRED':
      return reject('client_certificate_expired', 'The client certificate has expired.', 'tls');
    case 'CERT_NOT_YET_VALID':
      return reject('client_certificate_not_yet_valid', 'The client certificate is not yet valid.', 'tls');
    case 'CERT_REVOKED':
      return reject('client_certificate_revoked', 'The client certificate has been revoked.', 'tls');
    case 'INVALID_PURPOSE':
    case 'UNSUPPORTED_CERTIFICATE_PURPOSE':
      return reject(
        'client_certificate_rejected',
        'The client certificate is not valid for client authentication.',
        'tls',
      );
    case RESUMED_SESSION.notVerifiedForServerName:
    case RESUMED_SESSION.serverNameUnknown:
      return reject(
        'client_certificate_untrusted',
        'A resumed TLS session is not evidence for this server name: connect again without resuming.',
        'tls.resumed',
      );
    default:
      return reject(
        'client_certificate_untrusted',
        'The client certificate was not issued by a trusted certificate authority.',
        'tls',
      );
  }
}

export function sha256Hex(der: Buffer): string {
  return createHash('sha256').update(der).digest('hex');
}

/** Digest of a presented chain (length-prefixed DERs), with the source and the TLS stack's verdict. */
function presentedKey({ source, leaf, chain, peer, verdict }: Presented): string {
  const tls = peer ? `${peer.authorized}\0${peer.authorizationError ?? ''}` : '';
  const hash = createHash('sha256').update(`${source}\0${tls}\0${verdict ?? '-'}\0`);
  for (const der of [leaf, ...chain]) {
    const length = Buffer.alloc(4);
    length.writeUInt32BE(der.length);
    hash.update(length).update(der);
  }
  return hash.digest('base64');
}
