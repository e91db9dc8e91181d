import { TLSSocket } from 'node:tls';

/**
 * How many times `getPeerX509Certificate()` is called while `run` runs: the read of Node's peer
 * certificate objects (~150 µs on a fresh connection) that the middleware does once per
 * connection, and not at all for a client it recognises from the TLS session.
 */
export async function countingPeerReads(run: () => Promise<void>): Promise<number> {
  const original = TLSSocket.prototype.getPeerX509Certificate;
  let reads = 0;
  TLSSocket.prototype.getPeerX509Certificate = function counted(this: TLSSocket) {
    reads += 1;
    return original.call(this);
  };
  try {
    await run();
  } finally {
    TLSSocket.prototype.getPeerX509Certificate = original;
  }
  return reads;
}
