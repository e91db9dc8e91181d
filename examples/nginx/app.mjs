// The app behind nginx.conf: nginx terminates mTLS and forwards the client's certificate in
// `ssl-client-cert` (URL-encoded PEM) with its verdict in `ssl-client-verify`; proxy: 'nginx'
// reads both, and only from trustProxy peers (nginx connects from 127.0.0.1).

import { clientCert } from '@clientcert/express';
import express from 'express';

export function buildApp({ ca, mode = 'require' }) {
  const app = express();
  app.use(clientCert({ mode, proxy: 'nginx', ca, trustProxy: '127.0.0.1' }));
  app.get('/whoami', (req, res) => {
    const cert = req.clientCert;
    res.json({
      subject: cert.subject.rfc4514,
      sha256: cert.fingerprints.sha256,
      san: cert.san,
      source: cert.source,
      verifiedBy: cert.verifiedBy,
    });
  });
  return app;
}
