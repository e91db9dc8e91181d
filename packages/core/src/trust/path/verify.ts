/**
 * Chain verification: RFC 5280 §6 path validation of a leaf against configured trust anchors,
 * over a path built from the certificates the client presented and the configured intermediates.
 *
 * x509/ reads what path validation needs from the DER, kept on each certificate's record
 * (x509/facts.ts), and checks signatures with the issuer's key (x509/signature.ts); no
 * `X509Certificate` is made on the way, except for the public result. Here: policy.ts compiles the
 * `VerifyPolicy` and purposes, checks.ts holds the checks of one certificate, builder.ts the path
 * search, name-constraints.ts and policies.ts the two larger algorithms; this module is the entry
 * point (inputs, anchors, results). Together they build paths and apply the checks:
 *
 * - Signatures (as OpenSSL's `X509_verify`) and a weak-algorithm policy (`VerifyPolicy`): on every
 *   certificate below the anchor (the anchor's self-signature is not relied on, §6.1), MD2/MD4/MD5
 *   signatures always, SHA-1 signatures unless allowed, and algorithms outside a known-strong list;
 *   anywhere on the path, anchors included (an anchor's key signs everything under it), RSA keys
 *   outside `minRsaBits`..`maxRsaBits` or with a public exponent that is not odd and from 3 to
 *   2^32-1, EC keys on curves outside `ecCurves` or with explicit parameters, and DSA or other key
 *   types.
 * - Key policy before any signature: the leaf's key, and every issuer candidate's key before that
 *   key verifies anything, are judged from the DER alone (extensions.ts), never loaded into
 *   OpenSSL first. A chain can choose its keys, and one RSA verification with a 2048-bit exponent
 *   costs as much as a hundred ordinary ones: a key the policy refuses is never used.
 * - Validity of every certificate, the anchor included, at `at` with a tolerance, in whole
 *   seconds: notBefore and notAfter themselves are inside the period (§4.1.2.5).
 * - basicConstraints: every issuer is a v3 certificate with cA=TRUE; pathLenConstraint counts the
 *   non-self-issued intermediates below a CA (§6.1.4 (l)(m)).
 * - keyUsage: an issuer that has it asserts keyCertSign; a certificate asserting keyCertSign is a
 *   CA (§4.2.1.3); the leaf's allows the TLS purpose (see `PURPOSE_KEY_USAGE`).
 * - extKeyUsage: the leaf's, and an issuer's when it has one, contains the purpose or
 *   anyExtendedKeyUsage (what OpenSSL, Go and Windows do; RFC 5280 does not chain EKU).
 * - Name constraints of every CA on the path, the anchor included (name-constraints.ts).
 * - Certificate policies (policies.ts), with any-policy inputs: only requireExplicitPolicy and
 *   anyPolicy mappings can fail a path.
 * - Critical extensions: an unknown one, or a known one marked critical where RFC 5280 requires
 *   it not to be (AKI, SKI, AIA, SIA, freshestCRL), rejects the certificate.
 * - The RFC 5280 profile (`profileProblem`), on every certificate of the path, each rule
 *   relaxable by its own `VerifyPolicy` switch, which the failure message names:
 *   authorityKeyIdentifier with a keyIdentifier on every certificate that is not self-issued
 *   (§4.2.1.1); subjectKeyIdentifier (§4.2.1.2) and a critical basicConstraints (§4.2.1.9) on
 *   every CA certificate (cA=TRUE); a critical subjectAltName when the subject is empty
 *   (§4.2.1.6); dNSNames in the preferred name syntax (§4.2.1.6, see `isPreferredDnsName`);
 *   no dNSName name constraint with a leading period (§4.2.1.10). A name-constraint workload
 *   past `MAX_CONSTRAINT_COMPARISONS` is refused as too complex, with no switch.
 *
 * Decisions where RFC 5280 leaves room (or where validators differ):
 * - The trust anchor is a certificate, and its constraints are enforced as RFC 5937 allows and
 *   OpenSSL, BoringSSL and Go do: validity, cA=TRUE and keyCertSign (v3 anchors), pathLen, name
 *   constraints, extKeyUsage, critical extensions, key strength. A v1 or v2 anchor (no
 *   extensions) is accepted as a CA without constraints. v1/v2 intermediates are not CAs: stricter
 *   than §6.1.4 (k), which only asks v3 certificates for basicConstraints, as OpenSSL and Go are.
 * - The profile rules apply to the anchor too, as pyca/cryptography applies them: RFC 5280 §6.1
 *   takes anchor information as input, but this validator takes the anchor as a certificate (see
 *   above), and a v3 CA certificate without a subjectKeyIdentifier or with a non-critical
 *   basicConstraints is as non-conforming at the top of a path as in its middle. A self-signed
 *   anchor needs no authorityKeyIdentifier (§4.2.1.1), and a v1 anchor is no "CA certificate"
 *   (it has no basicConstraints), so neither rule touches legacy roots. An anchor that breaks a
 *   rule is reported, with its switch, once a certificate it signed is presented.
 * - A trust anchor may be a root or an intermediate: the path ends at the first anchor, whoever
 *   issued it. A leaf that is byte-for-byte a trust anchor is pinned: it is accepted alone,
 *   after the leaf checks. Any other self-signed leaf is untrusted.
 * - A CA certificate used as the leaf is accepted when its key usage and extended key usage allow
 *   the purpose (RFC 5280 and Go accept CA leaves; the CA/B web profile and pyca/cryptography do
 *   not): nothing in §6 stops a CA key from authenticating itself, private PKIs issue such
 *   certificates to devices and services, and refusing them would trade real deployments for no
 *   security, since the same key could sign itself a leaf. A CA certificate with keyUsage
 *   keyCertSign alone cannot be a TLS client, so most are refused; a CA leaf is still held to
 *   the CA profile (subjectKeyIdentifier, critical basicConstraints).
 * - Known extensions are processed whether or not they are marked critical. A missing critical
 *   flag is an error only where the profile above says so (basicConstraints of a CA, the
 *   subjectAltName of an empty subject); name constraints not marked critical are applied as if
 *   they were (RFC 5280 asks CAs to mark them, the CA/Browser Forum allows them non-critical).
 * - Key identifiers are required by the profile, but only order issuer candidates: a mismatch is
 *   not fatal (as Go; OpenSSL rejects mismatches).
 * - Names are compared as RFC 5280 §7.1 asks, with ASCII case folding and whitespace
 *   normalization of string values (see extensions.ts), not byte for byte as Go does.
 * - Revocation (§6.1.3 (a)(3)) is the pipeline's separate step, so crlDistributionPoints is
 *   accepted even when critical. Of the CA-side profile, the serial number form is not enforced.
 *
 * Path building is a depth-first search towards anchors, bounded in work: at most MAX_DEPTH
 * certificates above the leaf, no certificate and no (subject, key) pair twice in a path (RFC 4158
 * loop detection, which also stops cross-signed cycles), candidates ordered by their distance to
 * an anchor by name (so pools disconnected from the anchors cost nothing), then key identifier
 * match, then current validity; at most MAX_SIGNATURE_CHECKS signature verifications and
 * MAX_PATH_STEPS path extensions per call, and a cap on name-constraint comparisons. A failing
 * path does not end the search; when every path fails, the failure of the path that got furthest
 * is reported.
 *
 * What a failure tells the client: the result's `message` becomes the problem `detail`, so it
 * must not tell an attacker anything about the configuration. Which certificates the search
 * looks at depends on the configured names alone (a presented certificate "issued by" a guessed
 * DN is examined only when that DN is an anchor's or leads to one), so a failure is reported
 * only for a certificate proven, by verified signatures, to be issued under a trust anchor (or
 * for the leaf once its whole path verified). Anything else — unknown issuer, bad signature, a
 * refused key, the search limit, a broken certificate whose own issuer did not verify — is
 * `untrusted` with one fixed message; `reason` keeps the detail for logs.
 */
import { X509Certificate } from 'node:crypto';
import { ClientCertError, isClientCertError } from '../../errors.js';
import { invalidOption } from '../../validate.js';
import {
  type CertificateInput,
  certificateRecord,
  splitCertificates,
  toX509Certificate,
} from '../../x509/certificate.js';
import type { CertificateFacts } from '../../x509/extensions.js';
import { type CertificateRecord, factsOf } from '../../x509/facts.js';
import { PathBuilder, type PathNode } from './builder.js';
import {
  type Checks,
  certificateProblem,
  keyProblem,
  Order,
  problem,
  purposeProblem,
  structureProblem,
  type VerifyFailureCode,
  validityProblem,
  weakKey,
} from './checks.js';
import {
  type CompiledVerifyPolicy,
  compileVerifyPolicy,
  DEFAULT_POLICY,
  resolvePurpose,
  type VerifyPolicy,
} from './policy.js';

export { MAX_DEPTH, MAX_PATH_STEPS, MAX_SIGNATURE_CHECKS } from './builder.js';
export { MAX_RSA_PUBLIC_EXPONENT, type VerifyFailureCode } from './checks.js';
export { type CompiledVerifyPolicy, compileVerifyPolicy, resolvePurpose, type VerifyPolicy } from './policy.js';

/** Certificates as PEM text (a bundle is allowed where several are expected), DER or Node's object. */
export interface VerifyChainInput {
  leaf: CertificateInput;
  /** Certificates the client presented besides the leaf, in any order. */
  intermediates?: CertificateInput | readonly CertificateInput[];
  /**
   * Intermediates the server knows of (e.g. its CA bundle's issuing CAs), searched along with the
   * presented ones but never trusted by themselves. Pass `compileIntermediatePool` output on hot
   * paths.
   */
  intermediatePool?: CertificateInput | readonly CertificateInput[];
  /** Pass the result of `compileTrustAnchors` on hot paths so anchors are not re-parsed. */
  trustAnchors: CertificateInput | readonly CertificateInput[];
  /** Time to check validity at (default: now). */
  at?: Date;
  /** EKU the leaf must allow: a name (`clientAuth`, default), a dotted OID, or `any`. */
  purpose?: string;
  /** Slack applied to both ends of every validity period, in seconds (default 0). */
  clockToleranceSeconds?: number;
  /** Signature and key strength; pass `compileVerifyPolicy` output on hot paths. */
  policy?: VerifyPolicy | CompiledVerifyPolicy;
}

/**
 * On failure, `message` is fixed text safe to send to the client (it never depends on which
 * anchors are configured, see above); `reason` is the detailed account for logs and debugging,
 * which may tell what the configuration trusts. They are equal except for `untrusted`.
 */
export type VerifyChainResult =
  | { ok: true; chain: X509Certificate[] }
  | { ok: false; code: VerifyFailureCode; message: string; reason: string };

/** The `untrusted` message: one text whatever the configuration, so it tells a client nothing of it. */
export const UNTRUSTED_MESSAGE = 'no path to a trust anchor';

// ---------------------------------------------------------------------------------------------
// Input

/** The inputs as a list, where a PEM string may be a bundle. */
function inputList(inputs: CertificateInput | readonly CertificateInput[] | undefined): CertificateInput[] {
  if (inputs === undefined) return [];
  const list = Array.isArray(inputs) ? (inputs as readonly CertificateInput[]) : [inputs as CertificateInput];
  return list.flatMap((input): CertificateInput[] =>
    input instanceof X509Certificate ? [input] : splitCertificates(input),
  );
}

/** Node objects for a list of inputs (configuration: OpenSSL reads each one once, at start-up). */
function toCertificates(inputs: CertificateInput | readonly CertificateInput[] | undefined): X509Certificate[] {
  return inputList(inputs).map(toX509Certificate);
}

/** Records for a list of inputs, from the DER alone (a Node object's own record). */
function toRecords(inputs: CertificateInput | readonly CertificateInput[] | undefined): CertificateRecord[] {
  return inputList(inputs).map(certificateRecord);
}

type CertificateList = string | Buffer | X509Certificate | ReadonlyArray<string | Buffer | X509Certificate>;

/** Parses, de-duplicates and warms the caches of configured certificates; see `compileTrustAnchors`. */
function compileCertificates(input: CertificateList, entry: string, whole: string): X509Certificate[] {
  const items = Array.isArray(input)
    ? (input as ReadonlyArray<string | Buffer | X509Certificate>)
    : [input as CertificateInput];
  const certs = new Map<string, X509Certificate>();
  items.forEach((item, index) => {
    try {
      for (const cert of toCertificates(item)) {
        // Names and structure: a certificate path building cannot read is a configuration error.
        const record = factsOf(cert);
        const facts = record.path;
        // Warm the record, so the first request does not pay: the key that checks what this
        // certificate issued, when the default policy accepts it (no key is loaded before a
        // policy judged it; one only a laxer policy accepts is loaded on first use).
        if (weakKey(facts, DEFAULT_POLICY) === null) void record.publicKey;
        void record.validity;
        certs.set(record.fingerprint256, cert);
      }
    } catch (error) {
      const where = items.length > 1 ? `${entry} entry ${index + 1}` : whole;
      throw new ClientCertError('invalid_option', `${where}: ${describe(error)}`, { cause: error });
    }
  });
  return [...certs.values()];
}

/**
 * Parses trust anchors once (PEM bundles, DER buffers, Node objects, or arrays of them), dropping
 * duplicates. Non-certificate PEM blocks are skipped; any certificate block that does not parse,
 * or finding no certificate at all, throws `ClientCertError('invalid_option')`: silently dropping a
 * configured anchor would surface later as confusing "untrusted" rejections.
 */
export function compileTrustAnchors(ca: CertificateList): X509Certificate[] {
  const anchors = compileCertificates(ca, 'trust anchor', 'trust anchors');
  if (anchors.length === 0) {
    throw new ClientCertError(
      'invalid_option',
      'no trust anchor certificate found (expected PEM "CERTIFICATE" blocks or DER certificates)',
    );
  }
  return anchors;
}

/** Parses a configured intermediate pool once, like `compileTrustAnchors` (an empty pool is fine). */
export function compileIntermediatePool(pool: CertificateList): X509Certificate[] {
  return compileCertificates(pool, 'intermediate pool', 'intermediate pool');
}

function describe(error: unknown): string {
  return isClientCertError(error) || error instanceof Error ? error.message : 'unreadable input';
}

// ---------------------------------------------------------------------------------------------
// Entry points

/** The SHA-256 of a certificate's DER as a map key (kept on its record). */
const printOf = (record: CertificateRecord): string => record.digest('sha256').toString('latin1');

/** Leaf first, then distinct anchors and intermediates; a certificate that is both is an anchor. */
function buildNodes(
  leaf: CertificateRecord,
  others: readonly CertificateRecord[],
  anchors: readonly CertificateRecord[],
): PathNode[] {
  const anchorPrints = new Set(anchors.map(printOf));
  const seen = new Set<string>();
  const nodes: PathNode[] = [];
  for (const record of [leaf, ...anchors, ...others]) {
    const print = printOf(record);
    if (seen.has(print)) continue;
    seen.add(print);
    const facts = record.path;
    const identity = `${facts.subject.key}\n${facts.spki}`;
    nodes.push({ record, facts, anchor: anchorPrints.has(print), identity });
  }
  return nodes;
}

/** What one call checks (throws `invalid_option` for a bad `at`, tolerance, purpose or policy). */
export function readChecks(
  input: Pick<VerifyChainInput, 'at' | 'purpose' | 'clockToleranceSeconds' | 'policy'>,
): Checks {
  const at = input.at ?? new Date();
  if (!(at instanceof Date) || Number.isNaN(at.getTime())) {
    throw invalidOption('at', 'must be a valid Date');
  }
  const tolerance = input.clockToleranceSeconds ?? 0;
  if (typeof tolerance !== 'number' || !Number.isFinite(tolerance) || tolerance < 0) {
    throw invalidOption('clockToleranceSeconds', 'must be a number of seconds >= 0');
  }
  return {
    // Certificate times are whole seconds and OpenSSL compares whole seconds, so do we.
    at: Math.floor(at.getTime() / 1000) * 1000,
    toleranceMs: tolerance * 1000,
    purpose: resolvePurpose(input.purpose),
    policy: input.policy === undefined ? DEFAULT_POLICY : compileVerifyPolicy(input.policy),
  };
}

/** A failed verification; `message` is safe to send, `reason` is for logs (see `VerifyChainResult`). */
export type PathFailure = { ok: false; code: VerifyFailureCode; message: string; reason: string };

/** `verifyPath`'s result: the path as records, leaf first. */
export type PathResult = { ok: true; path: CertificateRecord[] } | PathFailure;

function fail(code: VerifyFailureCode, message: string, reason = message): PathFailure {
  return { ok: false, code, message, reason };
}

/** The `untrusted` result: the fixed message, and what the search saw as the reason. */
function untrusted(builder: PathBuilder): PathFailure {
  if (!builder.named) {
    return fail(
      'untrusted',
      UNTRUSTED_MESSAGE,
      `${UNTRUSTED_MESSAGE}: no trust anchor or intermediate leads by name from the leaf's issuer to a trust anchor`,
    );
  }
  const details: string[] = [];
  if (builder.unproven !== null)
    details.push(`${builder.unproven.message}, and is not verified to be issued under a trust anchor`);
  if (builder.badSignatures > 0)
    details.push(`${builder.badSignatures} certificate(s) named as an issuer did not sign`);
  const limit = builder.exhausted ? ' found within the path building limit' : '';
  return fail(
    'untrusted',
    UNTRUSTED_MESSAGE,
    `${UNTRUSTED_MESSAGE}${limit}${details.length > 0 ? `: ${details.join('; ')}` : ''}`,
  );
}

/** A `certificate_malformed` error as the `malformed` result; anything else is thrown on. */
function malformedResult(error: unknown): PathFailure {
  if (isClientCertError(error) && error.code === 'certificate_malformed') return fail('malformed', error.message);
  throw error;
}

/**
 * Verifies `leaf` against `trustAnchors` (see `VerifyChainInput`). Bad certificate input is a
 * `malformed` result, never a throw; invalid `at`, `purpose`, tolerance or policy throw
 * `invalid_option`. On success `chain` runs leaf → … → anchor (just the leaf when it is itself a
 * trust anchor).
 */
export function verifyChainSync(input: VerifyChainInput): VerifyChainResult {
  const checks = readChecks(input);
  let result: PathResult;
  try {
    const leaf = certificateRecord(input.leaf);
    const others = [...toRecords(input.intermediates), ...toRecords(input.intermediatePool)];
    result = verifyPath(leaf, others, toRecords(input.trustAnchors), checks);
  } catch (error) {
    return malformedResult(error);
  }
  if (!result.ok) return result;
  try {
    // The public result is Node's objects: made here, for the path only (OpenSSL reads them too).
    return { ok: true, chain: result.path.map((record) => record.x509) };
  } catch (error) {
    return malformedResult(error);
  }
}

/**
 * `verifyChainSync` over records, the form the pipeline holds certificates in: `others` are the
 * presented certificates and the configured pool, `anchors` the trust anchors. No
 * `X509Certificate` is made. A certificate whose skeleton cannot be read is a `malformed` result.
 */
export function verifyPath(
  leafRecord: CertificateRecord,
  others: readonly CertificateRecord[],
  anchors: readonly CertificateRecord[],
  checks: Checks,
): PathResult {
  let nodes: PathNode[];
  try {
    nodes = buildNodes(leafRecord, others, anchors);
  } catch (error) {
    return malformedResult(error);
  }
  const leaf = nodes[0]!;
  if (leaf.facts.malformed !== null) {
    return fail('malformed', `certificate at depth 0 is malformed: ${leaf.facts.malformed}`);
  }

  // A leaf that is itself a trust anchor is pinned: no issuer is needed.
  if (leaf.anchor) {
    const found = certificateProblem(leaf.record, leaf.facts, 'pinned', checks);
    return found === null
      ? { ok: true, path: [leaf.record] }
      : fail(found.code, `certificate at depth 0 ${found.text}`);
  }
  // The leaf's key is the client's choice too: judged first, it costs no signature work to refuse.
  const leafKey = keyProblem(leaf.facts, checks.policy);
  if (leafKey !== null) return fail(leafKey.code, `certificate at depth 0 ${leafKey.text}`);

  const builder = new PathBuilder(nodes, checks);
  const path = builder.run();
  if (path !== null) return { ok: true, path: path.map((index) => nodes[index]!.record) };
  if (builder.best !== null) return fail(builder.best.code, builder.best.message);
  return untrusted(builder);
}

export type CheckResult = { ok: true } | { ok: false; code: VerifyFailureCode; message: string };

/** A certificate's facts, or the `malformed` result when its skeleton cannot be read. */
function factsOrFailure(record: CertificateRecord): CertificateFacts | CheckResult {
  try {
    return record.path;
  } catch (error) {
    if (isClientCertError(error)) return { ok: false, code: 'malformed', message: error.message };
    throw error;
  }
}

/**
 * The leaf checks that do not need an issuer — structure, validity and purpose (extended key
 * usage and key usage) — for a certificate whose chain someone else verified (the TLS stack, or
 * a proxy declared as verifying), with the same codes as `verifyChainSync`. Algorithm strength,
 * critical extensions and the RFC 5280 profile are left to that verifier.
 */
export function checkCertificate(
  cert: X509Certificate,
  input: Pick<VerifyChainInput, 'at' | 'purpose' | 'clockToleranceSeconds'>,
): CheckResult {
  return checkLeaf(factsOf(cert), readChecks(input));
}

/** `checkCertificate` over a record, with the checks of the call. */
export function checkLeaf(record: CertificateRecord, checks: Checks): CheckResult {
  const facts = factsOrFailure(record);
  if ('ok' in facts) return facts;
  const found =
    facts.malformed !== null
      ? problem('malformed', `is malformed: ${facts.malformed}`, Order.structure)
      : (validityProblem(record, checks) ?? purposeProblem(facts, 'leaf', checks.purpose));
  return found === null
    ? { ok: true }
    : { ok: false, code: found.code, message: `certificate at depth 0 ${found.text}` };
}

/**
 * The key policy alone, over a path someone else verified (the TLS stack, or a proxy declared as
 * verifying): OpenSSL accepts keys the policy refuses (an RSA exponent of thousands of bits,
 * explicit EC parameters). Read from the DER, with no key work; the first refused key is reported
 * as `certificate at depth N ...`, N counted from the leaf.
 */
export function checkKeyPolicy(
  path: readonly X509Certificate[],
  policy: VerifyPolicy | CompiledVerifyPolicy = DEFAULT_POLICY,
): CheckResult {
  return checkKeys(path.map(factsOf), compileVerifyPolicy(policy));
}

/** `checkKeyPolicy` over records. */
export function checkKeys(path: readonly CertificateRecord[], compiled: CompiledVerifyPolicy): CheckResult {
  for (const [depth, record] of path.entries()) {
    const facts = factsOrFailure(record);
    if ('ok' in facts) return facts;
    const found = keyProblem(facts, compiled);
    if (found !== null) return { ok: false, code: found.code, message: `certificate at depth ${depth} ${found.text}` };
  }
  return { ok: true };
}

/**
 * What the structure and profile checks find wrong with each configured trust anchor under
 * `policy`, as `trust anchor N ...` messages (N from 1) naming the switch where one relaxes it:
 * for a start-up warning, so that a legacy root (easy-rsa writes basicConstraints non-critical)
 * is reported before its first client is refused rather than after.
 */
export function trustAnchorProblems(
  anchors: readonly X509Certificate[],
  policy: VerifyPolicy | CompiledVerifyPolicy = DEFAULT_POLICY,
): string[] {
  const compiled = compileVerifyPolicy(policy);
  const problems: string[] = [];
  for (const [index, anchor] of anchors.entries()) {
    const facts = factsOrFailure(factsOf(anchor));
    const found = 'ok' in facts ? null : structureProblem(facts, 'anchor', compiled);
    if (found !== null) problems.push(`trust anchor ${index + 1} ${found.text}`);
  }
  return problems;
}

/** Promise form of `verifyChainSync`, matching the public contract. */
export async function verifyChain(input: VerifyChainInput): Promise<VerifyChainResult> {
  return verifyChainSync(input);
}
