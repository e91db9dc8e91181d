// Who am I: the caller's client certificate as JSON. Every request goes through
// clientCert({ mode: 'require' }): without a valid certificate the answer is a 403
// application/problem+json response with a stable `code`.
// `source: 'tls'`: this server terminates TLS itself, so the certificate can only come from the
// connection (no forwarded-certificate header is ever read, and none is warned about).

import { clientCert } from '@clientcert/koa';
import Koa from 'koa';

export function buildApp() {
  const app = new Koa();
  app.use(clientCert({ mode: 'require', source: 'tls' }));
  app.use((ctx) => {
    if (ctx.method !== 'GET' || ctx.path !== '/whoami') return; // koa answers 404
    const cert = ctx.clientCert;
    ctx.body = {
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
