// The app behind envoy.yaml: Envoy terminates mTLS and sends one X-Forwarded-Client-Cert element
// (SANITIZE_SET). proxy: 'envoy' reads XFCC and accepts exactly one element, and only from
// trustProxy peers (by default loopback: Envoy as a sidecar).

import { clientCert } from '@clientcert/express';
import express from 'express';

export function buildApp({ ca, mode = 'require' }) {
  const app = express();
  // With `ca` the app verifies the chain again; `proxyVerified: true` instead would take
  // Envoy's word that its validation_context verified the client (Envoy says nothing per request).
  app.use(clientCert({ mode, proxy: 'envoy', ca }));
  app.get('/whoami', (req, res) => {
    const cert = req.clientCert;
    res.json({
      subject: cert.subject.rfc4514,
      sha256: cert.fingerprints.sha256,
      san: cert.san,
      spiffeId: cert.spiffeId,
      chainLength: cert.chain.length,
      source: cert.source,
      verifiedBy: cert.verifiedBy,
    });
  });
  return app;
}
