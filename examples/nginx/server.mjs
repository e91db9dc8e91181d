// Plain HTTP on 127.0.0.1:3000, where nginx.conf's proxy_pass sends requests.
//
//   CLIENT_CA_FILE=clients-ca.pem npm start      # PORT and HOST to listen elsewhere
import { readFileSync } from 'node:fs';
import { buildApp } from './app.mjs';

// The CA issuing client certificates, the same file as nginx's ssl_client_certificate: the app
// verifies the chain itself too (verifiedBy: 'chain').
const ca = readFileSync(process.env.CLIENT_CA_FILE ?? 'clients-ca.pem', 'utf8');
const server = buildApp({ ca }).listen(Number(process.env.PORT ?? 3000), process.env.HOST ?? '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}`);
});
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => server.close(() => process.exit(0)).closeAllConnections());
}
