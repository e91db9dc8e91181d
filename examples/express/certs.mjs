// The server's TLS files: read from a directory, or, when it has none yet, throwaway ones made
// there with the test kit (a CA, a server certificate for localhost, and a client to call with).
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/**
 * `server.pem` / `server.key` (the certificate the server presents) and `clients-ca.pem` (the CA
 * whose client certificates the TLS stack accepts) from `dir`, as `https.createServer` options.
 */
export async function loadCertificates(dir) {
  const file = (name) => path.join(dir, name);
  if (!existsSync(file('server.pem'))) await createThrowaway(dir);
  return {
    cert: readFileSync(file('server.pem'), 'utf8'),
    key: readFileSync(file('server.key'), 'utf8'),
    ca: readFileSync(file('clients-ca.pem'), 'utf8'),
  };
}

async function createThrowaway(dir) {
  const { createCA } = await import('@clientcert/core/testkit'); // only needed for throwaway files
  const ca = await createCA({ subject: 'CN=Example Client CA,O=clientcert example' });
  const server = await ca.issue({
    subject: 'CN=localhost',
    eku: ['serverAuth'],
    san: { dns: ['localhost'], ip: ['127.0.0.1'] },
  });
  const client = await ca.issue({
    subject: 'CN=alice,OU=engineering,O=clientcert example',
    san: { email: ['alice@example.org'], uri: ['spiffe://example.org/user/alice'] },
  });
  mkdirSync(dir, { recursive: true });
  const files = {
    'clients-ca.pem': ca.cert, // the CA also issued the server certificate: one file to trust
    'server.pem': server.cert,
    'server.key': server.key,
    'client.pem': client.cert,
    'client.key': client.key,
  };
  for (const [name, content] of Object.entries(files)) writeFileSync(path.join(dir, name), content, { mode: 0o600 });
  console.log(`wrote throwaway certificates to ${dir} (clients-ca.pem, server.*, client.*)`);
}
