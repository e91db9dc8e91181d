// HTTPS that asks every caller for a client certificate and lets the middleware decide
// (rejectUnauthorized: false), so that a caller without a good one gets a problem response.
//
//   npm start                 # throwaway certificates in ./certs, https://localhost:8443
//   CERT_DIR=/path/to/files PORT=8443 HOST=127.0.0.1 npm start
import https from 'node:https';
import { fileURLToPath } from 'node:url';
import { buildApp } from './app.mjs';
import { loadCertificates } from './certs.mjs';

const dir = process.env.CERT_DIR ?? fileURLToPath(new URL('certs/', import.meta.url));
const tls = await loadCertificates(dir);
const server = https.createServer({ ...tls, requestCert: true, rejectUnauthorized: false }, buildApp().callback());

server.listen(Number(process.env.PORT ?? 8443), process.env.HOST ?? '127.0.0.1', () => {
  console.log(`listening on https://localhost:${server.address().port}`);
});
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => server.close(() => process.exit(0)).closeAllConnections());
}
