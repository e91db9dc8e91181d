/**
 * The conformance table's server factory for the Passport strategy (the shape of
 * test/conformance/harness.ts `Adapter`): express with
 * `passport.authenticate('client-cert', { session: false, failWithError: true })` app-wide and
 * `clientCertProblems()` answering refusals, so that every row must come out as the express
 * adapter's does. Per-route options are a strategy of their own, registered under the route's
 * name; a route that opts out is declared before the app-wide middleware, as for express.
 */
import http from 'node:http';
import https from 'node:https';
import { createRequire } from 'node:module';
import express from 'express';
import type { ClientCertificate, ClientCertOptions } from '../../packages/core/src/index.js';
import { ClientCertStrategy, clientCertProblems } from '../../packages/passport/src/index.js';
import { type Adapter, type AppSpec, listen, quiet, type RunningApp, whoami } from '../conformance/harness.js';
import { newPassport } from './app.js';

/** `Adapter`, but named 'passport' (the harness's name union lists the framework adapters). */
export type PassportAdapter = Omit<Adapter, 'name'> & { name: 'passport' };

const require = createRequire(import.meta.url);

/** The user is the certificate itself: the table checks the certificate, on `req.clientCert`. */
const asUser = (certificate: ClientCertificate): ClientCertificate => certificate;

async function start(spec: AppSpec): Promise<RunningApp> {
  if (spec.http2) throw new Error('express (and so Passport on it) does not run on node:http2');
  const passport = newPassport(new ClientCertStrategy(quiet(spec.options), asUser));
  const app = express();
  const answer: express.RequestHandler = (req, res) => void res.json(whoami(req.clientCert));
  for (const route of spec.routes ?? []) if (route.clientCert === false) app.get(route.path, answer);
  app.use(passport.authenticate('client-cert', { session: false, failWithError: true }));
  app.get('/whoami', answer);
  for (const route of spec.routes ?? []) {
    if (route.clientCert === false) continue;
    const name = `client-cert ${route.path}`;
    passport.use(name, new ClientCertStrategy(quiet(route.clientCert), asUser));
    app.get(route.path, passport.authenticate(name, { session: false, failWithError: true }), answer);
  }
  app.use(clientCertProblems());
  const server = spec.tls ? https.createServer(spec.tls, app) : http.createServer(app);
  return listen(server, spec.tls !== undefined);
}

export const passportAdapter: PassportAdapter = {
  name: 'passport',
  version: (require('passport/package.json') as { version: string }).version,
  http2: false,
  start,
  async construct(options) {
    // App-wide or per route, the options go to a strategy's constructor.
    newPassport(new ClientCertStrategy(options as ClientCertOptions, asUser));
  },
};
