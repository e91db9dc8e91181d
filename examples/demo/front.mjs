// A small TLS front that behaves like Envoy with `forward_client_cert_details: SANITIZE_SET`:
// it terminates mTLS, always removes the XFCC header a client sent, and when the client presented
// a certificate sets a fresh XFCC element (Hash, Cert, Chain, Subject, URI, DNS) for the app.
import { createHash } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import { formatXfcc, parseCertificate } from '@clientcert/core';

function peerElement(socket) {
  const peer = socket.getPeerCertificate(true);
  if (!peer || !Buffer.isBuffer(peer.raw)) return null;
  const presented = [peer.raw];
  for (let c = peer; c.issuerCertificate && c.issuerCertificate !== c && presented.length < 10; c = c.issuerCertificate) {
    presented.push(c.issuerCertificate.raw);
  }
  const leaf = parseCertificate(peer.raw);
  return {
    by: [],
    hash: createHash('sha256').update(peer.raw).digest('hex'),
    cert: leaf.pem,
    chain: presented.map((der) => parseCertificate(der).pem),
    subject: leaf.subject.rfc4514,
    uri: [...leaf.san.uri],
    dns: [...leaf.san.dns],
  };
}

export function startFront({ tls, upstreamPort, localAddress = '127.0.0.1' }) {
  const server = https.createServer({ ...tls, requestCert: true, rejectUnauthorized: false }, (req, res) => {
    const headers = { ...req.headers };
    delete headers['x-forwarded-client-cert'];
    const element = peerElement(req.socket);
    if (element) headers['x-forwarded-client-cert'] = formatXfcc([element]);
    const upstream = http.request(
      { host: '127.0.0.1', port: upstreamPort, localAddress, method: req.method, path: req.url, headers, agent: false },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on('error', () => res.writeHead(502).end());
    req.pipe(upstream);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}
