import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import forge from 'node-forge';
import type { TestCertificate } from '../../packages/core/src/testkit/index.js';

/** A PKCS#12 file made by node-forge (RSA keys only): AES-256 by default, or 3DES with `legacy`. */
export function forgePfx(cert: TestCertificate, passphrase: string, options: { legacy?: boolean } = {}): Buffer {
  const key = forge.pki.privateKeyFromPem(cert.key);
  const certs = [cert.cert, ...cert.chain].map((pem) => forge.pki.certificateFromPem(pem));
  const asn1 = forge.pkcs12.toPkcs12Asn1(key, certs, passphrase, {
    algorithm: options.legacy ? '3des' : 'aes256',
    friendlyName: 'client',
  });
  return Buffer.from(forge.asn1.toDer(asn1).getBytes(), 'binary');
}

/** A PKCS#12 file made by `openssl pkcs12 -export` (any key type; OpenSSL 3 defaults: PBES2/AES-256, SHA-256 MAC). */
export function opensslPfx(cert: TestCertificate, passphrase: string, extra: string[] = []): Buffer {
  const dir = mkdtempSync(join(tmpdir(), 'cc-pfx-'));
  try {
    writeFileSync(join(dir, 'cert.pem'), cert.cert);
    writeFileSync(join(dir, 'key.pem'), cert.key);
    writeFileSync(join(dir, 'chain.pem'), cert.chain.join('') || cert.cert);
    execFileSync('openssl', [
      'pkcs12',
      '-export',
      '-in',
      join(dir, 'cert.pem'),
      '-inkey',
      join(dir, 'key.pem'),
      ...(cert.chain.length > 0 ? ['-certfile', join(dir, 'chain.pem')] : []),
      '-out',
      join(dir, 'out.pfx'),
      '-passout',
      `pass:${passphrase}`,
      ...extra,
    ]);
    return execFileSync('cat', [join(dir, 'out.pfx')]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export function tempDir(): { path: string; remove(): void } {
  const path = mkdtempSync(join(tmpdir(), 'cc-agent-'));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

export interface Seen {
  subject: string | null;
  sha256: string | null;
  authorized: boolean;
}

export interface MtlsServer {
  url: string;
  port: number;
  seen: Seen[];
  /** Delay the answer of requests to this path until `release()` is called. */
  hold(path: string): { release(): void; arrived: Promise<void> };
  close(): Promise<void>;
}

/** A real HTTPS server that requires a client certificate from `ca` and answers who presented it. */
export async function startMtlsServer(server: TestCertificate, ca: string | string[]): Promise<MtlsServer> {
  const seen: Seen[] = [];
  const holds = new Map<string, { wait: Promise<void>; arrive: () => void }>();
  const httpsServer = https.createServer(
    { key: server.key, cert: server.fullChain, ca, requestCert: true, rejectUnauthorized: true },
    (req, res) => {
      const socket = req.socket as TLSSocket;
      const peer = socket.getPeerX509Certificate();
      const entry: Seen = {
        subject: peer ? peer.subject.split('\n').reverse().join(',') : null,
        sha256: peer ? peer.fingerprint256.replace(/:/g, '').toLowerCase() : null,
        authorized: socket.authorized,
      };
      seen.push(entry);
      const hold = holds.get(req.url ?? '');
      const answer = () => {
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify(entry));
      };
      if (hold) {
        hold.arrive();
        void hold.wait.then(answer);
      } else answer();
    },
  );
  await new Promise<void>((resolve) => httpsServer.listen(0, '127.0.0.1', resolve));
  const port = (httpsServer.address() as AddressInfo).port;
  return {
    url: `https://localhost:${port}`,
    port,
    seen,
    hold(path) {
      let release!: () => void;
      let arrive!: () => void;
      const wait = new Promise<void>((resolve) => {
        release = resolve;
      });
      const arrived = new Promise<void>((resolve) => {
        arrive = resolve;
      });
      holds.set(path, { wait, arrive });
      return { release, arrived };
    },
    close: () =>
      new Promise<void>((resolve) => {
        httpsServer.closeAllConnections();
        httpsServer.close(() => resolve());
      }),
  };
}

/** GET with node:https through an agent. */
export function httpsGet(url: string, agent: https.Agent, path = '/'): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = https.request(new URL(path, url), { agent }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        body += chunk;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}
