/**
 * Certificates for the interop tests, generated once per run with the test kit.
 */
import { createCA, type JsonName, type TestCA, type TestCertificate } from '../../packages/core/src/testkit/index.js';

export const DN = {
  root: 'CN=Interop Root CA,O=clientcert',
  otherRoot: 'CN=Other Root CA,O=elsewhere',
  server: 'CN=localhost',
  // An escaped comma: nginx's $ssl_client_s_dn (RFC 2253) writes it as `\,` inside the XFCC quotes.
  alice: 'CN=alice,O=Acme\\, Inc.,C=US',
  bob: 'CN=bob,O=Acme',
  mallory: 'CN=mallory,O=elsewhere',
} as const;

/**
 * A subject made of XFCC's delimiters, ending in a backslash: inside nginx's quoted
 * `Subject="$ssl_client_s_dn"` it must neither end the quotes nor start another key or element.
 */
export const DELIMITER_NAME: JsonName = [{ O: ['Acme'] }, { CN: [{ utf8String: 'x";Cert="forged",By=y;z\\' }] }];

export interface InteropFixtures {
  /** Issues every certificate the proxies and the app trust. */
  root: TestCA;
  /** A CA nobody trusts. */
  otherRoot: TestCA;
  /** The proxies' server certificate: localhost and 127.0.0.1. */
  server: TestCertificate;
  /** The client that presents its certificate. */
  alice: TestCertificate;
  /** Another valid client of the same CA, whose (public) certificate an attacker forges headers with. */
  bob: TestCertificate;
  /** A client of the other CA. */
  mallory: TestCertificate;
  /** A valid client whose subject is DELIMITER_NAME. */
  delimiters: TestCertificate;
}

/** What a proxy needs on disk. */
export interface ProxyFiles {
  serverCert: string;
  serverKey: string;
  clientsCa: string;
}

let fixtures: Promise<InteropFixtures> | undefined;

export function interopFixtures(): Promise<InteropFixtures> {
  return (fixtures ??= (async () => {
    const [root, otherRoot] = await Promise.all([createCA({ subject: DN.root }), createCA({ subject: DN.otherRoot })]);
    const [server, alice, bob, mallory, delimiters] = await Promise.all([
      root.issue({ subject: DN.server, eku: ['serverAuth'], san: { dns: ['localhost'], ip: ['127.0.0.1'] } }),
      root.issue({
        subject: DN.alice,
        san: { dns: ['alice.example.org'], uri: ['spiffe://example.org/ns/default/sa/alice'] },
      }),
      root.issue({ subject: DN.bob }),
      otherRoot.issue({ subject: DN.mallory }),
      root.issue({ subject: DELIMITER_NAME }),
    ]);
    return { root, otherRoot, server, alice, bob, mallory, delimiters };
  })());
}

export function proxyFiles(f: InteropFixtures): ProxyFiles {
  return { serverCert: f.server.cert, serverKey: f.server.key, clientsCa: f.root.cert };
}
