import { readFileSync } from 'node:fs';
import { buildApp } from './app.mjs';

// CLIENT_CA_PEM holds the CA that issues your clients' certificates (a Container Apps secret).
const ca = process.env.CLIENT_CA_PEM ?? readFileSync(process.env.CLIENT_CA_FILE ?? 'clients-ca.pem', 'utf8');
const port = Number(process.env.PORT ?? 3000);
const server = buildApp({ ca, mode: process.env.CLIENT_CERT_MODE ?? 'require' }).listen(port, () => {
  console.log(`listening on ${server.address().port}`); // PORT=0: the port the system chose
});
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => server.close(() => process.exit(0)).closeAllConnections());
}
