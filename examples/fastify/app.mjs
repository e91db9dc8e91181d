// Who am I: the caller's client certificate as JSON. The plugin runs for every route:
// without a valid certificate the answer is a 403 application/problem+json response with a
// stable `code`. `source: 'tls'`: this server terminates TLS itself, so the certificate can only
// come from the connection (no forwarded-certificate header is ever read, and none is warned about).

import { clientCert } from '@clientcert/fastify';
import Fastify from 'fastify';

/** `https`: the server's TLS options (fastify creates the HTTPS server itself). */
export async function buildApp({ https }) {
  const app = Fastify({ https });
  await app.register(clientCert, { mode: 'require', source: 'tls' });
  app.get('/whoami', async (request) => {
    const cert = request.clientCert;
    return {
      subject: cert.subject.rfc4514,
      commonName: cert.subject.get('CN') ?? null,
      issuer: cert.issuer.rfc4514,
      serialNumber: cert.serialNumber,
      sha256: cert.fingerprints.sha256,
      san: cert.san,
      spiffeId: cert.spiffeId,
      notBefore: cert.notBefore.toISOString(),
      notAfter: cert.notAfter.toISOString(),
      source: cert.source,
      verifiedBy: cert.verifiedBy,
    };
  });
  return app;
}
