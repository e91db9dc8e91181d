// The example app: any express app, with one line added for client certificates.

import { clientCert } from '@clientcert/express';
import express from 'express';

export function buildApp(clientCertOptions) {
  const app = express();
  app.use(clientCert(clientCertOptions));
  app.get('/whoami', (req, res) => {
    const cert = req.clientCert;
    res.json(
      cert ? { subject: cert.subject.rfc4514, source: cert.source, verifiedBy: cert.verifiedBy } : { subject: null },
    );
  });
  return app;
}
