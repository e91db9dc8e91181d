/**
 * Step 1 for forwarded headers (XFCC and the other proxies' formats): read only from a trusted
 * proxy, decided once per header value (per connection first, then across connections), and, where
 * the proxy also described the certificate, held to that description on every request.
 */
import type { Socket } from 'node:net';
import { ALWAYS, asRejection, type Decided, type Decision, NOTHING, refused } from '../decide/decide.js';
import { escapeForLog } from '../options/warnings.js';
import {
  type CompiledHeaderSource,
  type ForwardedDescription,
  PROXY_DESCRIPTION_CHECK,
  readHeaderSource,
  readProxyVerdict,
} from '../sources/headers.js';
import { descriptionMismatch } from '../sources/proxy-description.js';
import { countLines, peerAddress, type RequestLike } from '../sources/read.js';
import { parseXfcc, selectXfccElement, xfccHashMatches, xfccLeaf } from '../sources/xfcc.js';
import { pemToDer } from '../x509/certificate.js';
import { cachedIn, headerValuesOf, isFresh, type Pipeline, peerIsTrusted, recall, remember } from './cache.js';
import { decidePresented } from './evaluate.js';
import { decidedNow, type Trace } from './observe.js';
import type { ValueCache } from './value-cache.js';

/** The XFCC source: one header line, written by the proxy. */
export function fromXfcc(
  pipeline: Pipeline,
  request: RequestLike,
  socket: Socket | undefined,
  trace: Trace | null,
): Decided | undefined {
  const header = pipeline.options.xfccHeader;
  const raw = request.headers[header];
  if (raw === undefined) return undefined;
  const value = Array.isArray(raw) ? raw.join(', ') : raw;
  if (!fromTrustedProxy(pipeline, socket, request, header, trace)) return undefined;
  // A proxy writes one line (APPEND_FORWARD appends with a comma); a second line was added by someone else.
  if (request.rawHeaders && countLines(request.rawHeaders, header) > 1) return sentTwice(trace);
  return recall(pipeline, socket, 'xfcc', value) ?? decideXfccValue(pipeline, socket, value, trace);
}

function sentTwice(trace: Trace | null): Decision {
  decidedNow(trace);
  return refused(
    'client_certificate_malformed',
    'The forwarded client certificate header was sent more than once.',
    'xfcc',
  );
}

/** A function of its own: the closure below would otherwise be allocated on the cached path above too. */
function decideXfccValue(pipeline: Pipeline, socket: Socket | undefined, value: string, trace: Trace | null): Decided {
  const decided = cachedIn(pipeline.options, pipeline.caches.perHeader, value, () =>
    decideXfcc(pipeline, value, trace),
  );
  return remember(pipeline, socket, 'xfcc', value, decided);
}

function decideXfcc(pipeline: Pipeline, value: string, trace: Trace | null): Decided {
  decidedNow(trace);
  const options = pipeline.options;
  try {
    const element = selectXfccElement(parseXfcc(value, options.xfccLimits), options.xfccElement);
    if (element && options.xfccBy && !element.by.some((by) => options.xfccBy!.has(by))) {
      return refused(
        'client_certificate_untrusted',
        'The forwarded element was not written by the expected proxy.',
        'xfcc.by',
      );
    }
    // The leaf is `Cert`, else the first of `Chain` (Envoy set to send `Chain` alone); `Hash` must be its digest.
    const written = element ? xfccLeaf(element) : undefined;
    if (written === undefined) return NOTHING;
    const leaf = pemToDer(written);
    if (!xfccHashMatches(element!, leaf)) {
      return refused(
        'client_certificate_malformed',
        'The forwarded Hash does not match the forwarded certificate.',
        'xfcc',
      );
    }
    const chain = element!.chain.map(pemToDer);
    return decidePresented(pipeline, trace, { source: 'xfcc', leaf, chain, peer: null, verdict: undefined });
  } catch (error) {
    return unreadable(error, trace);
  }
}

/** The other proxies' formats (RFC 9440, Traefik, URL-encoded PEM, base64 DER, AWS ALB, custom). */
export function fromHeaderSource(
  pipeline: Pipeline,
  source: CompiledHeaderSource,
  request: RequestLike,
  socket: Socket | undefined,
  trace: Trace | null,
): Decided | undefined {
  const headers = request.headers;
  if (!source.headers.some((name) => headers[name] !== undefined)) return undefined;
  if (!fromTrustedProxy(pipeline, socket, request, source.headers.join(', '), trace)) return undefined;
  // Every header the source reads, as sent (NUL cannot occur in a header value): on a proxy's
  // keep-alive connection the same values repeat, and the decision for them stands.
  const value = source.headers.map((name) => String(headers[name] ?? '')).join('\0');
  return recall(pipeline, socket, source, value) ?? decideHeaderValue(pipeline, source, request, socket, value, trace);
}

function decideHeaderValue(
  pipeline: Pipeline,
  source: CompiledHeaderSource,
  request: RequestLike,
  socket: Socket | undefined,
  value: string,
  trace: Trace | null,
): Decided | undefined {
  // Behind a proxy's connection pool each request carries another client's values: the decision
  // for the same values, whichever connection brought them before.
  const values = headerValuesOf(pipeline.caches, source);
  const known = values.get(value);
  if (known !== undefined && isFresh(pipeline.options, known)) return remember(pipeline, socket, source, value, known);
  const headers = request.headers;
  try {
    const forwarded = readHeaderSource(source, headers);
    if (forwarded) {
      const verdict = source.hasVerdict ? forwarded.proxyVerdict : undefined;
      const presented = { source: forwarded.source, leaf: forwarded.leaf, chain: forwarded.chain, peer: null, verdict };
      const decided = decidePresented(pipeline, trace, presented);
      const checked = forwarded.description ? described(decided, forwarded.description, trace) : decided;
      return remember(pipeline, socket, source, value, keep(values, value, checked));
    }
    // No certificate, but the proxy says the client presented one that failed its verification.
    if (readProxyVerdict(source, headers) === 'failed') {
      decidedNow(trace);
      return refused(
        'client_certificate_untrusted',
        'The proxy reported that the client certificate failed verification.',
        'proxy',
      );
    }
    return undefined;
  } catch (error) {
    return unreadable(error, trace);
  }
}

/** A settled decision kept by its header values (the description check included: it is part of them). */
function keep(values: ValueCache<Decision>, value: string, decided: Decided): Decided {
  if (decided instanceof Promise) return decided.then((settled) => keep(values, value, settled) as Decision);
  values.set(value, decided);
  return decided;
}

/**
 * Where the proxy also described the certificate (DN, serial, fingerprint), the forwarded
 * certificate must be the one described: a client-sent certificate header that the proxy left in
 * place (ingress-nginx without pass-certificate-to-upstream) disagrees with the proxy's own words.
 * Checked per header value, outside the per-chain cache: the description belongs to the request.
 */
function described(decided: Decided, description: ForwardedDescription, trace: Trace | null): Decided {
  if (decided instanceof Promise) return decided.then((settled) => described(settled, description, trace) as Decision);
  if (decided.certificate === null) return decided;
  const mismatch = descriptionMismatch(decided.certificate, description);
  if (mismatch === null) return decided;
  decidedNow(trace);
  return refused('client_certificate_untrusted', mismatch, PROXY_DESCRIPTION_CHECK);
}

/**
 * A header that could not be read: refused. The same value always fails the same way, so the XFCC
 * path keeps the refusal with its value (`cachedIn`); the other sources answer it afresh.
 */
function unreadable(error: unknown, trace: Trace | null): Decision {
  decidedNow(trace);
  return { certificate: null, error: asRejection(error), ...ALWAYS };
}

/** Headers are evidence only from a trusted proxy: from anyone else they are ignored (and reported). */
function fromTrustedProxy(
  pipeline: Pipeline,
  socket: Socket | undefined,
  request: RequestLike,
  headerNames: string,
  trace: Trace | null,
): boolean {
  if (peerIsTrusted(pipeline, socket, request)) return true;
  ignored(pipeline, socket, request, headerNames, trace);
  return false;
}

/** Reported (at most once a minute) and, when debugging, said in the steps. */
function ignored(
  pipeline: Pipeline,
  socket: Socket | undefined,
  request: RequestLike,
  headerNames: string,
  trace: Trace | null,
): void {
  const given = peerAddress(socket, request);
  const address = given === undefined || given === '' ? null : escapeForLog(given);
  pipeline.warnings.untrustedPeerHeader(headerNames, address);
  if (trace?.steps) {
    const why = address === null ? 'no peer address' : `peer ${address} is outside trustProxy`;
    trace.steps.push(`${headerNames}: ignored, ${why}`);
  }
}
