/**
 * Certificates for the load benchmarks, written once per run to a temporary directory so that the
 * server processes and autocannon (which reads --cert/--key/--ca from files) share them.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCA, envoyXfcc, generateKeyPair } from '../packages/core/src/testkit/index.js';

export interface Fixtures {
  dir: string;
  /** Root CA PEM (the trust anchor). */
  caFile: string;
  /** Server certificate and key (issued by the intermediate, chain included). */
  serverCertFile: string;
  serverKeyFile: string;
  /** Client certificate + intermediate, and its key. */
  clientCertFile: string;
  clientKeyFile: string;
  /** One XFCC header as Envoy writes it for the client certificate (Cert, Chain, Subject, URI, DNS). */
  xfcc: string;
  /** A JSON array of XFCC headers, each for a different client certificate (same CN, same key). */
  distinctXfccFile: string;
  /** The client's CN, for the peers' authorization callbacks. */
  clientCN: string;
}

export const CLIENT_CN = 'bench client';
/** More than the middleware's caches hold (1000 header values, 1000 chains): every request misses. */
export const DISTINCT_CERTIFICATES = 1500;

export async function createFixtures(): Promise<Fixtures> {
  const dir = mkdtempSync(join(tmpdir(), 'clientcert-bench-'));
  const root = await createCA({ subject: 'CN=Bench Root' });
  const intermediate = await root.intermediate({ subject: 'CN=Bench Issuing CA' });
  const client = await intermediate.issue({
    subject: `CN=${CLIENT_CN},O=Bench`,
    san: { uri: ['spiffe://bench/client'] },
  });
  const server = await intermediate.issue({
    subject: 'CN=localhost',
    san: { dns: ['localhost'], ip: ['127.0.0.1'] },
    eku: ['serverAuth'],
  });
  const file = (name: string, text: string): string => {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  };
  // One key for all of them: the certificates differ (serial numbers), which is all a cache sees.
  const keyPair = await generateKeyPair();
  const distinct: string[] = [];
  for (let i = 0; i < DISTINCT_CERTIFICATES; i++) {
    const leaf = await intermediate.issue({ subject: `CN=${CLIENT_CN},O=Bench`, keyPair });
    distinct.push(envoyXfcc(leaf, { by: ['spiffe://bench/server'] }));
  }
  return {
    dir,
    caFile: file('ca.pem', root.cert),
    serverCertFile: file('server.pem', server.fullChain),
    serverKeyFile: file('server-key.pem', server.key),
    clientCertFile: file('client.pem', client.fullChain),
    clientKeyFile: file('client-key.pem', client.key),
    xfcc: envoyXfcc(client, { by: ['spiffe://bench/server'] }),
    distinctXfccFile: file('distinct-xfcc.json', JSON.stringify(distinct)),
    clientCN: CLIENT_CN,
  };
}
