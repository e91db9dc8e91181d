// Who am I: the caller's client certificate as JSON (/whoami) and as an HTML page (/).
// Every route is behind clientCert({ mode: 'require' }): a caller without a valid certificate
// gets a 403 application/problem+json response with a stable `code`, browser or not.
// `source: 'tls'`: this server terminates TLS itself, so the certificate can only come from the
// connection (no forwarded-certificate header is ever read, and none is warned about).

import { clientCert } from '@clientcert/express';
import express from 'express';

/** What the app tells the caller about its certificate. */
export function identity(cert) {
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
}

const escapeHtml = (text) =>
  String(text).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);

function page(id) {
  const sans = Object.entries(id.san).flatMap(([kind, values]) => values.map((value) => `${kind}:${value}`));
  const rows = [
    ['Subject', id.subject, 'subject'],
    ['Issuer', id.issuer, 'issuer'],
    ['Subject alternative names', sans.join(', ') || '(none)', 'san'],
    ['SHA-256 fingerprint', id.sha256, 'sha256'],
    ['Serial number', id.serialNumber, 'serial'],
    ['Valid', `${id.notBefore} to ${id.notAfter}`, 'validity'],
    ['Verified by', id.verifiedBy, 'verified-by'],
  ];
  return `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Who am I</title></head>
<body>
<h1 id="greeting">Hello, ${escapeHtml(id.commonName ?? id.subject)}</h1>
<p>You presented this client certificate:</p>
<dl>
${rows.map(([label, value, key]) => `<dt>${label}</dt><dd id="${key}">${escapeHtml(value)}</dd>`).join('\n')}
</dl>
</body>
</html>
`;
}

export function buildApp() {
  const app = express();
  app.use(clientCert({ mode: 'require', source: 'tls' }));
  app.get('/whoami', (req, res) => res.json(identity(req.clientCert)));
  app.get('/', (req, res) => res.type('html').send(page(identity(req.clientCert))));
  return app;
}
