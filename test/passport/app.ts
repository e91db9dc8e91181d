/**
 * A real express + Passport app for the strategy's tests: a fresh `Passport` instance per app (no
 * global state between tests), served over HTTPS (the TLS source) or plain HTTP (behind a proxy)
 * on 127.0.0.1, port 0.
 *
 * Passport is loaded through `require` and typed here by the little the tests use: in this
 * program, benchmarks/peers.d.ts declares a `passport` module of its own that hides
 * @types/passport (the package's README snippets are what type-check against the real types).
 */
import http from 'node:http';
import https from 'node:https';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import type { ErrorRequestHandler, Express, RequestHandler } from 'express';
import type { TestCA, TestCertificate } from '../../packages/core/src/testkit/index.js';

export interface AuthenticateOptions {
  session?: boolean;
  failWithError?: boolean;
}

export type AuthenticateCallback = (error: unknown, user: unknown, info: unknown, status: unknown) => void;

export interface PassportInstance {
  use(strategy: unknown): PassportInstance;
  use(name: string, strategy: unknown): PassportInstance;
  authenticate(name: string | string[], options?: AuthenticateOptions, callback?: AuthenticateCallback): RequestHandler;
}

const require = createRequire(import.meta.url);
const { Passport } = require('passport') as { Passport: new () => PassportInstance };

/** A Passport of its own (not the module's singleton), with these strategies. */
export function newPassport(...strategies: unknown[]): PassportInstance {
  const passport = new Passport();
  for (const strategy of strategies) passport.use(strategy);
  return passport;
}

/** The certificates every test uses: our CA and its clients, a stranger's CA and its client. */
export interface Pki {
  root: TestCA;
  server: TestCertificate;
  alice: TestCertificate;
  expired: TestCertificate;
  foreign: TestCertificate;
}

export async function makePki(createCA: (options: { subject: string }) => Promise<TestCA>): Promise<Pki> {
  const root = await createCA({ subject: 'CN=Passport Test Root' });
  const stranger = await createCA({ subject: 'CN=Stranger Root' });
  const day = 86_400_000;
  return {
    root,
    server: await root.issue({ subject: 'CN=localhost', eku: ['serverAuth'], san: { ip: ['127.0.0.1'] } }),
    alice: await root.issue({ subject: 'CN=alice,O=Acme' }),
    expired: await root.issue({
      subject: 'CN=old',
      notBefore: new Date(Date.now() - 30 * day),
      notAfter: new Date(Date.now() - day),
    }),
    foreign: await stranger.issue({ subject: 'CN=alice,O=Acme' }),
  };
}

/** Answers an error with 500 and its message, so that a test sees what reached `next(err)`. */
export const errorsAsJson: ErrorRequestHandler = (error: Error, _req, res, _next) => {
  res.status(500).json({ error: error.message });
};

export interface Running {
  url: string;
  close(): Promise<void>;
}

/** Serve `app` over HTTPS with the TLS options of a client-certificate server (or plain HTTP). */
export async function serve(app: Express, tls?: Pki): Promise<Running> {
  const server = tls
    ? https.createServer(
        { cert: tls.server.cert, key: tls.server.key, ca: tls.root.cert, requestCert: true, rejectUnauthorized: false },
        app,
      )
    : http.createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `${tls ? 'https' : 'http'}://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };
}
