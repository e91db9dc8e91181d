/**
 * The trust model of one configuration, in words: which connections are read for a certificate,
 * what makes a certificate trusted, and who can therefore mint an identity. Compiled once from the
 * options; printed in the start-up line (`describe()`) and used by the start-up warnings.
 */

import { trustAnchorProblems } from '../trust/path/verify.js';
import type { CompiledOptions, CompiledSource } from './compile.js';
import type { StartupFacts } from './warnings.js';

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
    anchorProblems: options.anchors ? trustAnchorProblems(options.anchors, options.verifyPolicy) : [],
    crlProblems: options.revocation?.problems ?? [],
    hasPins: options.pins !== null,
    proxyVerified: options.proxyVerified,
    unverifiedForwarded: options.unverifiedForwarded,
    rules: options.rules,
    now: options.clock(),
  };
}

/** The start-up line: `clientcert: mode …; proxy …; certificate from …; trust: …; who can mint an identity: …`. */
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

function trustText(options: CompiledOptions): string {
  const pins = options.pins ? `${options.pins.size} pin(s)` : '';
  if (options.anchors) return `${options.anchors.length} trust anchor(s)${pins ? `, narrowed by ${pins}` : ''}`;
  if (pins) return `pinned certificates (${pins})`;
  // On a server with a client CA per server name, the stack's verdict holds for that name only.
  const tls = options.sources.some((s) => s === 'tls' || s === 'auto')
    ? 'the TLS stack for TLS connections (for its server name only: with several names, a resumed session or a request for another host is refused)'
    : '';
  const forwarded = !options.sources.some((s) => s !== 'tls')
    ? ''
    : options.unverifiedForwarded
      ? 'NOTHING for forwarded certificates (dangerouslyTrustAnyForwardedCertificate)'
      : options.proxyVerified
        ? `the proxy's verification${verdictText(options)}`
        : 'none for forwarded certificates (no ca, pins or proxy verification: they are refused)';
  return [tls, forwarded].filter(Boolean).join('; ') || 'none';
}

function verdictText(options: CompiledOptions): string {
  const source = options.forwarded;
  if (source === 'xfcc') return ' (proxyVerified)';
  if (source.mode === 'verify') return ' (ALB verify mode)';
  return source.verifyHeader
    ? ` when ${source.verifyHeader.name} says ${source.verifyHeader.success.join(' or ')}`
    : ' (proxyVerified)';
}

function whoCanMint(options: CompiledOptions): string {
  const who: string[] = [];
  if (options.sources.some((s) => s === 'tls' || s === 'auto')) {
    const verified = options.anchors
      ? 'chains to the trust anchors'
      : options.pins
        ? 'is pinned'
        : 'the TLS stack verified';
    who.push(`a TLS client holding the private key of a certificate that ${verified}`);
  }
  if (options.sources.some((s) => s !== 'tls')) {
    const peers = `any peer in trustProxy (${options.trustProxyDescription})`;
    if (options.unverifiedForwarded) who.push(`${peers}, with any certificate at all, even one it made itself`);
    else if (options.anchors || options.pins) {
      who.push(
        `${peers}, with any certificate the ${options.anchors ? 'trust anchors' : 'pins'} accept: forwarded certificates prove no key possession`,
      );
    } else if (options.proxyVerified) who.push(`${peers}, with any certificate it says it verified`);
  }
  return who.length > 0 ? who.join('; and ') : 'nobody (no certificate can be trusted)';
}
