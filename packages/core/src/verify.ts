/**
 * Chain verification: build a path from the leaf through the presented intermediates to a
 * configured trust anchor, then check it (issuers are CAs, validity at a given time, the leaf's
 * extended key usage).
 *
 * This is the foundation version. Signatures and issuer matching are OpenSSL's, through
 * node:crypto (`checkIssued` compares names and key identifiers and requires keyCertSign when the
 * issuer has a key usage extension; `verify` checks the signature). Path length constraints,
 * name constraints and policy processing are not done here yet.
 *
 * Path building is bounded: at most MAX_DEPTH certificates above the leaf, no certificate twice
 * in one path, issuer checks memoized per call, and a cap on the total number of path extensions
 * so that a crafted set of cross-signed intermediates cannot make the search exponential.
 */
import { X509Certificate, type KeyObject } from 'node:crypto';
import { certificateValidity, splitCertificates, toX509Certificate, type CertificateInput } from './certificate.js';
import { isDottedOid } from './der.js';
import { ClientCertError, isClientCertError } from './errors.js';

export type VerifyFailureCode = 'untrusted' | 'expired' | 'not_yet_valid' | 'wrong_purpose' | 'malformed';

/** Certificates as PEM text (a bundle is allowed where several are expected), DER or Node's object. */
export interface VerifyChainInput {
  leaf: CertificateInput;
  /** Certificates the client presented besides the leaf, in any order. */
  intermediates?: CertificateInput | readonly CertificateInput[];
  /** Pass the result of `compileTrustAnchors` on hot paths so anchors are not re-parsed. */
  trustAnchors: CertificateInput | readonly CertificateInput[];
  /** Time to check validity at (default: now). */
  at?: Date;
  /** EKU the leaf must allow: a name (`clientAuth`, default), a dotted OID, or `any`. */
  purpose?: string;
  /** Slack applied to both ends of every validity period, in seconds (default 0). */
  clockToleranceSeconds?: number;
}

export type VerifyChainResult =
  | { ok: true; chain: X509Certificate[] }
  | { ok: false; code: VerifyFailureCode; message: string };

/** Most certificates above the leaf in one path (the anchor included). */
export const MAX_DEPTH = 8;
/** Most path extensions tried in one call; real chains need a handful. */
const MAX_PATH_STEPS = 64;
const ANY_EXTENDED_KEY_USAGE = '2.5.29.37.0';

const PURPOSE_NAMES: readonly (readonly [string, string])[] = [
  ['clientAuth', '1.3.6.1.5.5.7.3.2'],
  ['serverAuth', '1.3.6.1.5.5.7.3.1'],
  ['codeSigning', '1.3.6.1.5.5.7.3.3'],
  ['emailProtection', '1.3.6.1.5.5.7.3.4'],
  ['timeStamping', '1.3.6.1.5.5.7.3.8'],
  ['OCSPSigning', '1.3.6.1.5.5.7.3.9'],
];
/** Lower-cased purpose name → EKU OID. */
const PURPOSES: ReadonlyMap<string, string> = new Map(PURPOSE_NAMES.map(([name, oid]) => [name.toLowerCase(), oid]));

/**
 * The EKU OID a purpose name stands for, or null for `any` (no EKU check). Names are
 * case-insensitive. Throws `invalid_option` for anything else, so options can be validated once.
 */
export function resolvePurpose(purpose: string | undefined): string | null {
  if (purpose === undefined) return PURPOSES.get('clientauth')!;
  if (typeof purpose !== 'string') throw new ClientCertError('invalid_option', 'purpose must be a string');
  const name = purpose.toLowerCase();
  if (name === 'any') return null;
  const oid = PURPOSES.get(name) ?? (isDottedOid(purpose) ? purpose : undefined);
  if (oid === undefined) {
    throw new ClientCertError('invalid_option',
      `unknown purpose; use one of ${PURPOSE_NAMES.map(([name]) => name).join(', ')}, any, or a dotted OID`);
  }
  return oid;
}

// ---------------------------------------------------------------------------------------------
// Per-certificate facts, cached across calls: anchors and TLS-cached certificates are reused.

interface Validity {
  readonly from: number;
  readonly until: number;
}

const validityCache = new WeakMap<X509Certificate, Validity>();
const publicKeyCache = new WeakMap<X509Certificate, KeyObject>();

function validityOf(cert: X509Certificate): Validity {
  let validity = validityCache.get(cert);
  if (validity === undefined) {
    const { notBefore, notAfter } = certificateValidity(cert);
    validity = { from: notBefore.getTime(), until: notAfter.getTime() };
    validityCache.set(cert, validity);
  }
  return validity;
}

/** `X509Certificate.publicKey` builds a new KeyObject on every read. */
function publicKeyOf(cert: X509Certificate): KeyObject {
  let key = publicKeyCache.get(cert);
  if (key === undefined) {
    key = cert.publicKey;
    publicKeyCache.set(cert, key);
  }
  return key;
}

/** True when `issuer` issued `child`: names/key ids match (OpenSSL) and the signature verifies. */
function isIssuedBy(child: X509Certificate, issuer: X509Certificate): boolean {
  try {
    return child.checkIssued(issuer) && child.verify(publicKeyOf(issuer));
  } catch {
    // An unsupported or broken key is simply not an issuer.
    return false;
  }
}

// ---------------------------------------------------------------------------------------------
// Input

/** Node objects for a list of inputs, where a PEM string may be a bundle. */
function toCertificates(inputs: CertificateInput | readonly CertificateInput[] | undefined): X509Certificate[] {
  if (inputs === undefined) return [];
  const list = Array.isArray(inputs) ? (inputs as readonly CertificateInput[]) : [inputs as CertificateInput];
  const certs: X509Certificate[] = [];
  for (const input of list) {
    if (input instanceof X509Certificate) certs.push(input);
    else for (const der of splitCertificates(input)) certs.push(toX509Certificate(der));
  }
  return certs;
}

/**
 * Parses trust anchors once (PEM bundles, DER buffers, Node objects, or arrays of them), dropping
 * duplicates. Non-certificate PEM blocks are skipped; any certificate block that does not parse,
 * or finding no certificate at all, throws `ClientCertError('invalid_option')`: silently dropping a
 * configured anchor would surface later as confusing "untrusted" rejections.
 */
export function compileTrustAnchors(
  ca: string | Buffer | X509Certificate | ReadonlyArray<string | Buffer | X509Certificate>,
): X509Certificate[] {
  const items = Array.isArray(ca) ? (ca as ReadonlyArray<string | Buffer | X509Certificate>) : [ca as CertificateInput];
  const anchors = new Map<string, X509Certificate>();
  items.forEach((item, index) => {
    let certs: X509Certificate[];
    try {
      certs = toCertificates(item);
    } catch (error) {
      const where = items.length > 1 ? `trust anchor entry ${index + 1}` : 'trust anchors';
      throw new ClientCertError('invalid_option', `${where}: ${describe(error)}`, { cause: error });
    }
    for (const cert of certs) {
      anchors.set(cert.fingerprint256, cert);
      publicKeyOf(cert); // warm the cache: the first request should not pay for it
    }
  });
  if (anchors.size === 0) {
    throw new ClientCertError('invalid_option',
      'no trust anchor certificate found (expected PEM "CERTIFICATE" blocks or DER certificates)');
  }
  return [...anchors.values()];
}

function describe(error: unknown): string {
  return isClientCertError(error) || error instanceof Error ? error.message : 'unreadable input';
}

// ---------------------------------------------------------------------------------------------
// Path building and checking

/** A distinct certificate (by SHA-256) of this call: the leaf, an intermediate, or an anchor. */
interface PathNode {
  readonly cert: X509Certificate;
  readonly anchor: boolean;
}

interface Failure {
  readonly code: VerifyFailureCode;
  readonly message: string;
  /** How far the path got through the checks; the furthest failure is the one reported. */
  readonly stage: number;
}

interface Checks {
  /** Whole second being checked, in ms. */
  readonly at: number;
  readonly toleranceMs: number;
  /** Required EKU OID, or null for any. */
  readonly purpose: string | null;
}

function checkPath(path: readonly PathNode[], checks: Checks): Failure | null {
  for (let depth = 1; depth < path.length; depth++) {
    if (!path[depth]!.cert.ca) {
      return { code: 'untrusted', message: `certificate at depth ${depth} is not a CA`, stage: 0 };
    }
  }
  for (let depth = 0; depth < path.length; depth++) {
    const { from, until } = validityOf(path[depth]!.cert);
    if (checks.at < from - checks.toleranceMs) {
      return { code: 'not_yet_valid', message: `certificate at depth ${depth} is not yet valid`, stage: 1 };
    }
    if (checks.at > until + checks.toleranceMs) {
      return { code: 'expired', message: `certificate at depth ${depth} has expired`, stage: 1 };
    }
  }
  const eku = path[0]!.cert.keyUsage; // Node's name for the extended key usage list
  if (checks.purpose !== null && eku !== undefined && !eku.includes(checks.purpose) &&
      !eku.includes(ANY_EXTENDED_KEY_USAGE)) {
    return { code: 'wrong_purpose', message: 'certificate at depth 0 is not valid for the required purpose', stage: 2 };
  }
  return null;
}

/**
 * Depth-first search for a path that passes `checkPath`. Anchors are tried before intermediates
 * at every level so the shortest path is found first; a failing path does not end the search,
 * because another issuer (a re-issued or cross-signed intermediate) may succeed.
 */
class PathSearch {
  private steps = 0;
  private readonly issued = new Map<number, boolean>();
  best: Failure | null = null;
  exhausted = false;

  constructor(private readonly nodes: readonly PathNode[], private readonly checks: Checks) {}

  /** Memoized issuer check between node indexes: each signature is verified at most once. */
  private issuedBy(child: number, issuer: number): boolean {
    const key = child * this.nodes.length + issuer;
    let result = this.issued.get(key);
    if (result === undefined) {
      result = isIssuedBy(this.nodes[child]!.cert, this.nodes[issuer]!.cert);
      this.issued.set(key, result);
    }
    return result;
  }

  private record(failure: Failure): void {
    if (this.best === null || failure.stage > this.best.stage) this.best = failure;
  }

  /** Returns a passing path extending `path` (node indexes), or null. */
  search(path: number[]): number[] | null {
    const current = path[path.length - 1]!;
    if (path.length > MAX_DEPTH) return null;
    for (const wantAnchor of [true, false]) {
      for (let candidate = 0; candidate < this.nodes.length; candidate++) {
        if (this.nodes[candidate]!.anchor !== wantAnchor || path.includes(candidate)) continue;
        if (!this.issuedBy(current, candidate)) continue;
        if (++this.steps > MAX_PATH_STEPS) {
          this.exhausted = true;
          return null;
        }
        path.push(candidate);
        const found = wantAnchor ? this.tryComplete(path) : this.search(path);
        if (found !== null) return found;
        path.pop();
        if (this.exhausted) return null;
      }
    }
    return null;
  }

  tryComplete(path: number[]): number[] | null {
    const failure = checkPath(path.map((index) => this.nodes[index]!), this.checks);
    if (failure === null) return [...path];
    this.record(failure);
    return null;
  }
}

/** Leaf first, then distinct intermediates and anchors; a certificate that is both is an anchor. */
function buildNodes(leaf: X509Certificate, intermediates: X509Certificate[], anchors: X509Certificate[]): PathNode[] {
  const anchorPrints = new Set(anchors.map((anchor) => anchor.fingerprint256));
  const nodes: PathNode[] = [{ cert: leaf, anchor: anchorPrints.has(leaf.fingerprint256) }];
  const seen = new Set([leaf.fingerprint256]);
  for (const cert of [...anchors, ...intermediates]) {
    const print = cert.fingerprint256;
    if (seen.has(print)) continue;
    seen.add(print);
    nodes.push({ cert, anchor: anchorPrints.has(print) });
  }
  return nodes;
}

function readChecks(input: VerifyChainInput): Checks {
  const at = input.at ?? new Date();
  if (!(at instanceof Date) || Number.isNaN(at.getTime())) {
    throw new ClientCertError('invalid_option', 'at must be a valid Date');
  }
  const tolerance = input.clockToleranceSeconds ?? 0;
  if (typeof tolerance !== 'number' || !Number.isFinite(tolerance) || tolerance < 0) {
    throw new ClientCertError('invalid_option', 'clockToleranceSeconds must be a number >= 0');
  }
  // Certificate times are whole seconds and OpenSSL compares whole seconds, so do we.
  return { at: Math.floor(at.getTime() / 1000) * 1000, toleranceMs: tolerance * 1000, purpose: resolvePurpose(input.purpose) };
}

function fail(code: VerifyFailureCode, message: string): VerifyChainResult {
  return { ok: false, code, message };
}

/**
 * Verifies `leaf` against `trustAnchors` (see `VerifyChainInput`). Bad certificate input is a
 * `malformed` result, never a throw; invalid `at`, `purpose` or tolerance throw `invalid_option`.
 * On success `chain` runs leaf → … → anchor (just the leaf when it is itself a trust anchor).
 */
export function verifyChainSync(input: VerifyChainInput): VerifyChainResult {
  const checks = readChecks(input);
  let leaf: X509Certificate;
  let intermediates: X509Certificate[];
  let anchors: X509Certificate[];
  try {
    leaf = toX509Certificate(input.leaf);
    intermediates = toCertificates(input.intermediates);
    anchors = toCertificates(input.trustAnchors);
  } catch (error) {
    if (isClientCertError(error) && error.code === 'certificate_malformed') return fail('malformed', error.message);
    throw error;
  }
  const nodes = buildNodes(leaf, intermediates, anchors);

  // A leaf that is itself a trust anchor is pinned: no issuer is needed.
  if (nodes[0]!.anchor) {
    const failure = checkPath([nodes[0]!], checks);
    return failure === null ? { ok: true, chain: [leaf] } : fail(failure.code, failure.message);
  }

  const search = new PathSearch(nodes, checks);
  const path = search.search([0]);
  if (path !== null) return { ok: true, chain: path.map((index) => nodes[index]!.cert) };
  if (search.best !== null) return fail(search.best.code, search.best.message);
  return fail('untrusted', search.exhausted
    ? 'no path to a trust anchor found within the path building limit'
    : 'no path to a trust anchor');
}

/**
 * Validity and purpose of one certificate alone, for a certificate whose chain someone else
 * verified (the TLS stack, or a proxy declared as verifying): the same checks and codes as
 * `verifyChainSync` applies to a leaf.
 */
export function checkCertificate(
  cert: X509Certificate,
  input: Pick<VerifyChainInput, 'at' | 'purpose' | 'clockToleranceSeconds'>,
): { ok: true } | { ok: false; code: VerifyFailureCode; message: string } {
  const failure = checkPath([{ cert, anchor: false }], readChecks({ ...input, leaf: cert, trustAnchors: [] }));
  return failure === null ? { ok: true } : { ok: false, code: failure.code, message: failure.message };
}

/** Promise form of `verifyChainSync`, matching the public contract. */
export async function verifyChain(input: VerifyChainInput): Promise<VerifyChainResult> {
  return verifyChainSync(input);
}
