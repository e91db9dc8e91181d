/**
 * Why `check`'s answer is what it is, where the middleware's code alone does not say it: a
 * certificate the configuration never read (sent in a header it does not read, from a peer it
 * does not trust, on a connection whose certificate it does not take), and the two refusals whose
 * fix lies outside the certificate (nothing trusts a forwarded one; the proxy did not say it
 * verified it). Each note names the fix.
 */
import type { AuthResult, CompiledHeaderSource } from '@clientcert/core';
import type { BuiltRequest, CheckInput, Reading } from './request.js';

/** What of the compiled options the notes read, besides what the request read. */
export interface Explained extends Reading {
  readonly tlsFromClientsOnly: boolean;
  readonly trust: { readonly tls: { readonly kind: string }; readonly forwarded: { readonly kind: string } };
}

export function explain(input: CheckInput, options: Explained, built: BuiltRequest, result: AuthResult): string[] {
  if (result.ok && result.certificate) return [];
  const code = result.ok ? null : result.problem.code;
  const check = result.ok ? null : (result.error.check ?? null);
  if (result.ok || code === 'client_certificate_required') return notRead(input, options, built);
  if (check === 'trust' && input.kind !== 'none' && built.carrier !== null && options.trust.tls.kind === 'tls') {
    return [
      'without ca, pins or proxy verification no forwarded certificate is trusted; an app that terminates mTLS ' +
        "itself trusts its TLS stack: check that with --tls-ca <file> (the HTTPS server's ca)",
    ];
  }
  if (check === 'proxy') {
    const verify = headerSources(options).find((source) => source.verifyHeader !== null)?.verifyHeader;
    if (verify) {
      return [
        `the proxy says it verified a certificate in ${verify.name}: add --add-header "${verify.name}: ` +
          `${verify.success[0] ?? 'SUCCESS'}" to decide as if it did`,
      ];
    }
  }
  return [];
}

/** Nothing was read: say which of the reasons applies. */
function notRead(input: CheckInput, options: Explained, built: BuiltRequest): string[] {
  const notes: string[] = [];
  const tls = built.secure;
  const trusted = options.trustProxy(built.from, 0) === true;
  const reads = readHeaders(options, tls);
  if (built.sent.length > 0 && !trusted) {
    notes.push(
      `the peer ${built.from} is not in trustProxy (${options.trustProxyDescription}), so its headers are ignored: ` +
        "send from your proxy's address with --from, or add it to trustProxy",
    );
  }
  if (built.carrier !== null && !reads.includes(built.carrier)) {
    const what = reads.length > 0 ? `it reads ${reads.join(', ')}` : 'it reads no header on this connection';
    notes.push(
      `the certificate was sent in ${built.carrier}, which this configuration does not read (${what}): ` +
        'name the proxy that sends it (proxy) or its format (source)',
    );
  }
  if (input.kind === 'certificate' && tls) {
    const readsTls = options.sources.some((source) => source === 'tls' || source === 'auto');
    if (!readsTls) {
      notes.push(
        "this configuration does not read the TLS connection's certificate (no source tls or auto): add " +
          "source: 'tls' for clients that connect directly",
      );
    } else if (options.tlsFromClientsOnly && trusted) {
      notes.push(
        `the peer ${built.from} is a trusted proxy, and a proxy's own TLS certificate is never a client's: ` +
          "give the client's address with --from",
      );
    }
  }
  return notes;
}

/** The headers the configuration reads a certificate from, on a TLS or a plain connection. */
function readHeaders(options: Explained, tls: boolean): string[] {
  const names = options.sources.flatMap((source) => {
    const resolved = source === 'auto' ? (tls ? 'tls' : options.forwarded) : source;
    if (resolved === 'tls') return [];
    return resolved === 'xfcc' ? [options.xfccHeader] : [resolved.header];
  });
  return [...new Set(names)];
}

function headerSources(options: Explained): CompiledHeaderSource[] {
  return [...options.sources, options.forwarded].filter(
    (source): source is CompiledHeaderSource => typeof source === 'object',
  );
}
