/**
 * The conformance table's server factory for Hono on @hono/node-server (the shape of
 * test/conformance/harness.ts's `Adapter`, named 'hono'): the middleware app-wide, `GET /whoami`
 * answering the certificate, each extra route behind its own middleware or (opted out) declared
 * before the app-wide one. HTTPS when the spec has TLS options, HTTP/2 (h2, or h2c) when asked.
 */
import http2 from 'node:http2';
import https from 'node:https';
import type { ClientCertOptions } from '../../packages/core/src/index.js';
import { clientCert } from '../../packages/hono/src/index.js';
import { type Adapter, type AnyServer, type AppSpec, quiet, running, whoami } from '../conformance/harness.js';
import { Hono, serve } from './deps.js';

const HOST = '127.0.0.1';

export type HonoAdapter = Omit<Adapter, 'name'> & { name: 'hono' };

/** The server node-server makes for this spec: the factory and its options, as `serve` takes them. */
function serverChoice(spec: AppSpec) {
  if (spec.http2) {
    return spec.tls
      ? { createServer: http2.createSecureServer, serverOptions: spec.tls }
      : { createServer: http2.createServer, serverOptions: {} };
  }
  return spec.tls ? { createServer: https.createServer, serverOptions: spec.tls } : {};
}

export function honoAdapter(version: string): HonoAdapter {
  return {
    name: 'hono',
    version,
    http2: true,
    async start(spec) {
      const app = new Hono();
      const answer = (c: { get(key: 'clientCert'): Parameters<typeof whoami>[0]; json(body: unknown): Response }) =>
        c.json(whoami(c.get('clientCert')));
      // Opting out in Hono: declare the route before the app-wide middleware (a match ends the chain).
      for (const route of spec.routes ?? []) if (route.clientCert === false) app.get(route.path, answer);
      app.use(clientCert(quiet(spec.options)));
      app.get('/whoami', answer);
      for (const route of spec.routes ?? []) {
        if (route.clientCert !== false) app.get(route.path, clientCert(quiet(route.clientCert)), answer);
      }
      const server = serve({ fetch: app.fetch, port: 0, hostname: HOST, ...serverChoice(spec) } as Parameters<
        typeof serve
      >[0]) as AnyServer;
      return running(server, spec.tls !== undefined);
    },
    async construct(options, where) {
      const app = new Hono();
      const middleware = clientCert(options as ClientCertOptions);
      if (where === 'app') app.use(middleware);
      else app.get('/route', middleware, (c) => c.body(null));
    },
  };
}
