/**
 * Step 1 for the TLS connection: whether its peer's certificate may be read as the client's, the
 * per-connection decision (every request on a kept-alive connection is answered from it), and
 * what to say when the connection lost the intermediates its client sent.
 */
import type { Socket } from 'node:net';
import { type Decided, type Decision, NOTHING, type Rejection, refused, reject } from '../decide/decide.js';
import { escapeForLog } from '../options/warnings.js';
import { hostIsServerName, type RequestLike } from '../sources/read.js';
import {
  type MissingChainCause,
  missingChainCause,
  type PeerInfo,
  peerVerdict,
  readPeer,
  servesSeveralNames,
  sessionPeerDer,
} from '../sources/tls.js';
import { cachedIn, isFresh, type Pipeline, peerIsTrusted } from './cache.js';
import { decidePresented } from './evaluate.js';
import { decidedNow, type Trace } from './observe.js';

/**
 * The TLS source. `listed`: the source as configured (`tls`, or `auto` that resolved to it);
 * `socket`: the request's connection (connectionOf), undefined for a request without one.
 */
export function fromTls(
  pipeline: Pipeline,
  listed: 'tls' | 'auto',
  request: RequestLike,
  socket: Socket | undefined,
  trace: Trace | null,
): Decided | undefined {
  if (socket === undefined) return undefined; // no connection, no TLS peer
  const options = pipeline.options;
  // Beside header sources, a trusted peer is a proxy: its TLS certificate is its own, not a client's.
  if (options.tlsFromClientsOnly && listed === 'tls' && peerIsTrusted(pipeline, socket, request)) {
    if (trace?.steps) {
      const peer = escapeForLog(socket.remoteAddress ?? 'unknown');
      trace.steps.push(`tls: not read, peer ${peer} is a trusted proxy (its certificate is its own)`);
    }
    return undefined;
  }
  // `auto` without a proxy: the peer of a TLS connection is the client. A trusted peer that
  // forwards XFCC over TLS is a proxy nobody named, and the certificate of its connection its
  // own: refused rather than taken for the client's (proxy_not_named says how to fix it).
  if (
    listed === 'auto' &&
    request.headers[options.xfccHeader] !== undefined &&
    peerIsTrusted(pipeline, socket, request)
  ) {
    pipeline.warnings.proxyNotNamed(socket);
    decidedNow(trace);
    return refused(
      'client_certificate_untrusted',
      'A proxy forwarded a client certificate over TLS, but the configuration names no proxy.',
      'tls.proxy',
    );
  }
  // Every request on a kept-alive connection lands here: answer a fresh hit without allocating.
  // A new connection of a client admitted before is recognised by the DER in its TLS session.
  const known = pipeline.caches.perSocket.get(socket) ?? recallClient(pipeline, socket);
  if (known !== undefined && isFresh(options, known)) {
    return known.certificate !== null && forAnotherHost(pipeline, request, socket) ? refusedHost(trace) : known;
  }
  const peer = readPeer(socket);
  if (!peer) {
    if (!(socket as { encrypted?: boolean }).encrypted) pipeline.warnings.tlsSourcePlainHttp(socket);
    return undefined;
  }
  if (peer.leaf !== null && forAnotherHost(pipeline, request, socket)) return refusedHost(trace);
  return decideConnection(pipeline, trace, peer, socket);
}

/**
 * A server with a client CA per name: the stack verified the certificate for the TLS server
 * name, so a request for another host is not covered by that verdict (nginx answers 421).
 */
function forAnotherHost(pipeline: Pipeline, request: RequestLike, socket: Socket): boolean {
  return pipeline.trustsTlsStack && servesSeveralNames(socket) && !hostIsServerName(request, socket);
}

function refusedHost(trace: Trace | null): Decision {
  decidedNow(trace);
  return refused(
    'client_certificate_untrusted',
    'The request is for another host than the TLS server name the certificate was verified for.',
    'tls.host',
  );
}

/**
 * The decision for a connection whose client was admitted before, read from the DER in the TLS
 * session (~15 µs) instead of Node's certificate objects (~150 µs on a new connection). The same
 * certificate with the same verdict of the TLS stack gets the same decision: its validity does not
 * depend on the intermediates sent this time, since a path from it was verified already (and the
 * decision is reused only within that path's window). Only admissions are recalled: a refusal may
 * have been for want of intermediates this connection does send.
 */
function recallClient(pipeline: Pipeline, socket: Socket): Decision | undefined {
  const leaf = sessionPeerDer(socket);
  if (leaf === null) return undefined;
  const client = pipeline.caches.perClient.get(leaf.toString('latin1'));
  if (client === undefined) return undefined;
  const verdict = peerVerdict(socket, leaf);
  if (verdict.authorized !== client.authorized || verdict.authorizationError !== client.authorizationError) {
    return undefined;
  }
  pipeline.caches.perSocket.set(socket, client.decision);
  return client.decision;
}

/** An admitted TLS client, kept for its next connections (see `recallClient`). */
function rememberClient(pipeline: Pipeline, peer: PeerInfo, decided: Decided): Decided {
  if (decided instanceof Promise) return decided.then((settled) => rememberClient(pipeline, peer, settled) as Decision);
  if (decided.certificate !== null && decided.error === null && peer.leaf !== null) {
    const { authorized, authorizationError } = peer;
    pipeline.caches.perClient.set(peer.leaf.toString('latin1'), { authorized, authorizationError, decision: decided });
  }
  return decided;
}

/** A function of its own: the closure below would otherwise be allocated on the cached path above too. */
function decideConnection(pipeline: Pipeline, trace: Trace | null, peer: PeerInfo, socket: Socket): Decided {
  return cachedIn(pipeline.options, pipeline.caches.perSocket, socket, () => decideTls(pipeline, trace, peer, socket));
}

function decideTls(pipeline: Pipeline, trace: Trace | null, peer: PeerInfo, socket: Socket): Decided {
  decidedNow(trace);
  pipeline.warnings.requestCertOff(socket); // once per connection: its decision is cached
  if (!peer.leaf) return NOTHING;
  const presented = { source: 'tls', leaf: peer.leaf, chain: peer.chain, peer, verdict: undefined } as const;
  const decided = rememberClient(pipeline, peer, decidePresented(pipeline, trace, presented));
  // No path to an anchor, and no chain on the connection: say why, when the connection can tell.
  if (decided instanceof Promise || decided.error?.check !== 'chain.untrusted' || peer.chain.length > 0) return decided;
  const cause = missingChainCause(socket, peer);
  return cause === null ? decided : chainMissing(pipeline, decided, cause);
}

/**
 * A refusal for lack of a path whose intermediates the client did send, on a connection that no
 * longer has them: the same answer, a reason for logs, and a warning saying what to do (once
 * per cause). The chain of a resumed session is the one remembered from a full handshake of the
 * same certificate (sources/tls.ts); this one had none in this process.
 */
function chainMissing(pipeline: Pipeline, decided: Decision, cause: MissingChainCause): Decision {
  const reason =
    cause === 'resumed'
      ? 'the TLS session was resumed, and a resumed session carries the leaf certificate only'
      : 'code that ran before the middleware called getPeerX509Certificate() on the connection and took its chain';
  pipeline.warnings.chainMissing(cause);
  const error = decided.error as Rejection;
  const full = error.reason === undefined ? reason : `${error.reason}; ${reason}`;
  return { ...decided, error: reject(error.code, error.message, error.check ?? 'chain.untrusted', full) };
}
