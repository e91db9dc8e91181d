// Plain HTTP on 127.0.0.1:3000, the `app` cluster of envoy.yaml.
//
//   CLIENT_CA_FILE=clients-ca.pem npm start      # PORT and HOST to listen elsewhere
import { readFileSync } from 'node:fs';
import { buildApp } from './app.mjs';

// The CA issuing client certificates, the same as envoy.yaml's trusted_ca.
const ca = readFileSync(process.env.CLIENT_CA_FILE ?? 'clients-ca.pem', 'utf8');
const server = buildApp({ ca }).listen(Number(process.env.PORT ?? 3000), process.env.HOST ?? '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}`);
});
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => server.close(() => process.exit(0)).closeAllConnections());
}
