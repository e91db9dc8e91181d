import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { stat } from 'node:fs';
import { expect } from 'chai';
import { exchange, FetchError } from '../../../../packages/core/src/trust/revocation/fetch.js';

/**
 * A CRL server in another process (so that it answers while this one is busy): each request is
 * answered `delayMs` after it arrives.
 */
async function slowServer(delayMs: number): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(
    process.execPath,
    [
      '-e',
      `require('node:http').createServer((req, res) => setTimeout(() => res.end('crl bytes'), ${delayMs}))` +
        `.listen(0, '127.0.0.1', function () { console.log(this.address().port); });`,
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const [line] = (await once(child.stdout!, 'data')) as [Buffer];
  return { url: `http://127.0.0.1:${line.toString().trim()}/root.crl`, child };
}

function busyFor(ms: number): void {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    // the process is busy (parsing a burst of requests, say)
  }
}

describe('trust/revocation/fetch: the deadline', () => {
  it('an answer that arrived in time is read, even when the process was busy past the deadline', async () => {
    const server = await slowServer(300);
    try {
      const fetched = exchange(server.url, { method: 'GET', accept: '*/*', timeoutMs: 1000, maxBytes: 1024 });
      // Busy in an I/O callback (as when parsing a burst of requests) from ~100 ms to ~1.6 s: the
      // answer (at ~300 ms) and the deadline (1 s) are both due when it ends, and the next turn of
      // the event loop runs timers before it reads sockets.
      await new Promise<void>((resolve) => setTimeout(resolve, 100));
      await new Promise<void>((resolve) => stat('.', () => resolve(busyFor(1500))));
      expect((await fetched).toString()).to.equal('crl bytes');
    } finally {
      server.child.kill();
    }
  });

  it('an answer that did not arrive in time is a timeout', async () => {
    const server = await slowServer(2000);
    try {
      const fetched = exchange(server.url, { method: 'GET', accept: '*/*', timeoutMs: 200, maxBytes: 1024 });
      const error = await fetched.then(
        () => null,
        (e: unknown) => e,
      );
      expect(error).to.be.instanceOf(FetchError);
      expect((error as FetchError).failure).to.equal('unreachable');
    } finally {
      server.child.kill();
    }
  });
});
