// The app: Azure Container Apps ingress terminates TLS, asks the caller for a certificate
// (clientCertificateMode) and forwards it in X-Forwarded-Client-Cert, verifying nothing: it accepts
// self-signed certificates too. The app decides whom to trust: `ca`, the CA of its clients.
// proxy: 'azure-container-apps' reads the element ACA's ingress writes, trusts the header only from
// the environment's private network, and refuses proxyVerified (ACA vouches for no certificate).

import { clientCert } from '@clientcert/express';
import express from 'express';

export function buildApp({ ca, mode = 'require' }) {
  const app = express();
  app.get('/healthz', (_req, res) => res.send('ok')); // before the middleware: probes carry no certificate
  app.use(clientCert({ mode, proxy: 'azure-container-apps', ca }));
  app.get('/whoami', (req, res) => {
    const cert = req.clientCert;
    res.json(
      cert
        ? { subject: cert.subject.rfc4514, sha256: cert.fingerprints.sha256, notAfter: cert.notAfter }
        : { subject: null },
    );
  });
  return app;
}
