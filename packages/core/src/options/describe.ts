/**
 * The trust model of one configuration, in words: which connections are read for a certificate,
 * what makes a certificate trusted, and who can therefore mint an identity. Compiled once from the
 * options; printed in the start-up line (`describe()`) and used by the start-up warnings.
 */

import type { X509Certificate } from 'node:crypto';
import type { CompiledHeaderSource } from '../sources/headers.js';
import { trustAnchorProblems } from '../trust/path/verify.js';
import type { TrustRoute } from '../trust/strategy.js';
import { factsOf } from '../x509/facts.js';
import type { CompiledOptions, CompiledSource } from './compile.js';
import { escapeForLog, type StartupFacts } from './warnings.js';

/** Anchors named one by one in the start-up line; a bundle of public roots is counted past these. */
const ANCHORS_NAMED = 5;

/** What the start-up warnings need to know of the compiled configuration. */
export function trustModelFacts(options: CompiledOptions): StartupFacts {
  return {
    mode: options.mode,
    // `auto` without a proxy reads a header only on plain-HTTP connections: checked at the first one.
    readsHeaders: options.sources.some((s) => s !== 'tls' && s !== 'auto'),
    mayReadHeaders: options.sources.some((s) => s !== 'tls'),
    trustProxy: options.trustProxy,
    trustProxyDescription: options.trustProxyDescription,
    trustProxyIsDefault: options.trustProxyIsDefault,
    preset: options.preset,
    anchors: options.anchors,
    ...anchorFacts(options),
    crlProblems: options.revocation?.problems ?? [],
    hasPins: options.pins !== null,
    proxyVerified: options.proxyVerified,
    unverifiedForwarded: options.unverifiedForwarded,
    rules: options.rules,
    now: options.clock(),
  };
}

/** The subject of a configured certificate, for a log line. */
function subjectOf(certificate: X509Certificate): string {
  return escapeForLog(factsOf(certificate).subject.rfc4514 || '(empty subject)');
}

/** A v3 certificate without cA=TRUE is no CA (a v1 anchor is trusted as one, a v1 intermediate is not). */
function isCa(certificate: X509Certificate, role: 'anchor' | 'intermediate'): boolean {
  const facts = factsOf(certificate).path;
  return facts.basicConstraints?.ca === true || (role === 'anchor' && facts.version < 3);
}

/** Anchors and intermediates that are no CA (`anchor_not_ca`), and the profile problems of the others (`anchor_profile`). */
function anchorFacts(
  options: CompiledOptions,
): Pick<StartupFacts, 'anchorProblems' | 'nonCaAnchors' | 'nonCaIntermediates'> {
  const anchors = options.anchors ?? [];
  const notCa = anchors.flatMap((anchor, index) => (isCa(anchor, 'anchor') ? [] : [index]));
  // "trust anchor N is not a CA" would say the same as anchor_not_ca, without the fix.
  const problems = anchors.length === 0 ? [] : trustAnchorProblems(anchors, options.verifyPolicy);
  return {
    anchorProblems: problems.filter(
      (problem) => !notCa.some((index) => problem.startsWith(`trust anchor ${index + 1} `)),
    ),
    nonCaAnchors: notCa.map((index) => `ca[${index}] (${subjectOf(anchors[index]!)})`),
    nonCaIntermediates: options.intermediatePool.flatMap((certificate, index) =>
      isCa(certificate, 'intermediate') ? [] : [`intermediates[${index}] (${subjectOf(certificate)})`],
    ),
  };
}

/** Which CAs the app trusts, by subject and expiry: the first thing to compare with a refused client's issuer. */
function anchorsText(anchors: readonly X509Certificate[]): string {
  const named = anchors.slice(0, ANCHORS_NAMED).map((anchor) => {
    const until = new Date(factsOf(anchor).validity.until).toISOString().slice(0, 10);
    return `"${subjectOf(anchor)}" (until ${until})`;
  });
  const more = anchors.length - named.length;
  return `trust anchors: ${named.join(', ')}${more > 0 ? ` and ${more} more` : ''}`;
}

/** The start-up line: `clientcert: mode …; proxy …; certificate from …; trust: …; trust anchors …; who can mint an identity: …`. */
export function describeTrust(options: CompiledOptions): string {
  const parts = [`clientcert: mode ${options.mode}`];
  if (options.preset) {
    parts.push(
      `proxy ${options.preset.proxy}${options.presetOrigin === 'environment' ? ' (detected from the environment)' : ''}`,
    );
  }
  if (options.mode === 'ignore') return `${parts.join('; ')}; no certificate is read`;
  parts.push(`certificate from ${options.sources.map((s) => sourceText(options, s)).join(', then ')}`);
  const headers = options.sources.some((s) => s !== 'tls');
  if (headers) {
    const reason = !options.trustProxyIsDefault
      ? ''
      : options.preset?.defaultTrustProxy
        ? ` (default for ${options.preset.proxy})`
        : ' (default: a proxy on this host)';
    parts.push(`forwarded headers trusted from ${options.trustProxyDescription}${reason}`);
  }
  parts.push(`trust: ${trustText(options)}`);
  if (options.anchors) parts.push(anchorsText(options.anchors));
  if (options.rules) parts.push('rules configured');
  if (options.revocation) parts.push(`revocation: ${options.revocation.description}`);
  parts.push(`who can mint an identity: ${whoCanMint(options)}`);
  return parts.join('; ');
}

function headerName(options: CompiledOptions, source: Exclude<CompiledSource, 'auto' | 'tls'>): string {
  return source === 'xfcc' ? options.xfccHeader : source.description;
}

function sourceText(options: CompiledOptions, source: CompiledSource): string {
  const forwarded = options.forwarded === 'xfcc' ? options.xfccHeader : options.forwarded.description;
  if (source === 'auto') return `the TLS connection on TLS connections (its peer is the client), else ${forwarded}`;
  if (source === 'tls') {
    return options.tlsFromClientsOnly
      ? "the TLS connection of peers outside trustProxy (a proxy's own certificate is never read)"
      : 'the TLS connection';
  }
  return headerName(options, source);
}

/** The compiled trust routes in words: one when anchors or pins decide every route, else per kind read. */
function trustText(options: CompiledOptions): string {
  const { tls, forwarded } = options.trust;
  if (tls === forwarded) return tls.description;
  const parts = [readsTls(options) ? tls.description : '', readsForwarded(options) ? forwarded.description : ''];
  return parts.filter(Boolean).join('; ') || 'none';
}

/** How the named proxy says it verified the certificate it forwards (for the proxy route's description). */
export function proxyVerdictText(source: 'xfcc' | CompiledHeaderSource): string {
  if (source === 'xfcc') return ' (proxyVerified)';
  if (source.mode === 'verify') return ' (ALB verify mode)';
  return source.verifyHeader
    ? ` when ${source.verifyHeader.name} says ${source.verifyHeader.success.join(' or ')}`
    : ' (proxyVerified)';
}

function readsTls(options: CompiledOptions): boolean {
  return options.sources.some((s) => s === 'tls' || s === 'auto');
}

function readsForwarded(options: CompiledOptions): boolean {
  return options.sources.some((s) => s !== 'tls');
}

const TLS_VERIFIED: Partial<Record<TrustRoute['kind'], string>> = {
  chain: 'chains to the trust anchors',
  pin: 'is pinned',
  tls: 'the TLS stack verified',
};

function whoCanMint(options: CompiledOptions): string {
  const who: string[] = [];
  const { tls, forwarded } = options.trust;
  if (readsTls(options))
    who.push(`a TLS client holding the private key of a certificate that ${TLS_VERIFIED[tls.kind]}`);
  if (readsForwarded(options)) {
    const peers = `any peer in trustProxy (${options.trustProxyDescription})`;
    // The explicit choice is said as such even where anchors would still verify.
    if (options.unverifiedForwarded) who.push(`${peers}, with any certificate at all, even one it made itself`);
    else if (forwarded.kind === 'chain' || forwarded.kind === 'pin') {
      const accepting = forwarded.kind === 'chain' ? 'trust anchors' : 'pins';
      who.push(
        `${peers}, with any certificate the ${accepting} accept: forwarded certificates prove no key possession`,
      );
    } else if (forwarded.kind === 'proxy') who.push(`${peers}, with any certificate it says it verified`);
  }
  return who.length > 0 ? who.join('; and ') : 'nobody (no certificate can be trusted)';
}
