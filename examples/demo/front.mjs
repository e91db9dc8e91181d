// A small TLS front that behaves like Envoy with `forward_client_cert_details: SANITIZE_SET`:
// it terminates mTLS, always removes the XFCC header a client sent, and when the client presented
// a certificate sets a fresh XFCC element (Hash, Cert, Chain, Subject, URI, DNS) for the app.
// The header is produced by the core's XFCC forwarder, byte for byte what Envoy would send.
import http from 'node:http';
import https from 'node:https';
import { createXfccForwarder } from '@clientcert/core';

export function startFront({ tls, upstreamPort, localAddress = '127.0.0.1' }) {
  const forwarder = createXfccForwarder({ mode: 'SANITIZE_SET', details: ['Cert', 'Chain', 'Subject', 'URI', 'DNS'] });
  const server = https.createServer({ ...tls, requestCert: true, rejectUnauthorized: false }, (req, res) => {
    const headers = { ...req.headers };
    forwarder.apply(req, headers);
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
