/**
 * A refusal answered on an HTTP upgrade (WebSocket) request. Node hands an upgrade to the
 * `'upgrade'` event as a raw socket, with no response object: the problem is written there as an
 * HTTP/1.1 response, before any WebSocket handshake, with the same status, headers and body the
 * adapters send on a plain request.
 */
import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import { PROBLEM_CONTENT_TYPE, type ProblemDetails } from './problem.js';

/**
 * Writes `problem` as an HTTP/1.1 response (`content-type: application/problem+json`,
 * `cache-control: no-store`, `connection: close`) on the socket of a refused upgrade request, then
 * closes the socket. For `server.on('upgrade', (req, socket, head) => …)` before
 * `wss.handleUpgrade`, and for any upgrade refused without a response object.
 */
export function rejectUpgrade(socket: Duplex, problem: ProblemDetails): void {
  // Node's HTTP server stops listening for errors on a socket it hands to 'upgrade': a client that
  // resets the connection while the answer is written must not take the process down.
  socket.on('error', () => socket.destroy());
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const body = Buffer.from(JSON.stringify(problem));
  const head =
    `HTTP/1.1 ${problem.status} ${STATUS_CODES[problem.status] ?? 'Error'}\r\n` +
    `Content-Type: ${PROBLEM_CONTENT_TYPE}\r\n` +
    'Cache-Control: no-store\r\n' +
    `Content-Length: ${body.length}\r\n` +
    'Connection: close\r\n\r\n';
  // Closed once written ('finish'), not at once: destroying now could drop the answer unsent.
  socket.once('finish', () => socket.destroy());
  socket.end(Buffer.concat([Buffer.from(head, 'latin1'), body]));
}
