/**
 * The certificates most integration tests start from: a server certificate for 127.0.0.1 under a
 * root of its own, the clients' CA, alice under it, and mallory — alice's very names under a CA of
 * the attacker's own, which only the trust decision tells apart.
 */
import { createCA, type TestCA, type TestCertificate } from '../../packages/core/src/testkit/index.js';

export interface Cast {
  serverRoot: TestCA;
  serverCert: TestCertificate;
  /** The clients' CA. */
  root: TestCA;
  alice: TestCertificate;
  mallory: TestCertificate;
}

export async function castOf({ clientsCA = 'CN=Clients CA', alice = 'CN=alice,O=Acme' } = {}): Promise<Cast> {
  const [serverRoot, root, elsewhere] = await Promise.all([
    createCA({ subject: 'CN=Server Root' }),
    createCA({ subject: clientsCA }),
    createCA({ subject: clientsCA }),
  ]);
  const serverCert = await serverRoot.issue({
    subject: 'CN=localhost',
    eku: ['serverAuth'],
    san: { ip: ['127.0.0.1'] },
  });
  return {
    serverRoot,
    serverCert,
    root,
    alice: await root.issue({ subject: alice }),
    mallory: await elsewhere.issue({ subject: alice }),
  };
}
