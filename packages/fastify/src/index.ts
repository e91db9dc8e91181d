import type { FastifyPluginCallback, FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify';
import fp from 'fastify-plugin';
import {
  createClientCertAuth, PROBLEM_HEADERS, type AuthResult, type ClientCertAuth, type ClientCertificate, type ClientCertOptions,
} from '@clientcert/core';

export type { ClientCertificate, ClientCertIdentities, ClientCertOptions, ProblemDetails, RejectionCode } from '@clientcert/core';
export { ClientCertError, isClientCertError } from '@clientcert/core';

declare module 'fastify' {
  // Importing this package makes `request.clientCert` typed, and the route-level setting.
  interface FastifyRequest {
    /** The authenticated client certificate, or null when none was required and none came. */
    clientCert: ClientCertificate | null;
  }
  interface FastifyContextConfig {
    /** Per route: options merged over the plugin's, or `false` to skip client certificates on this route. */
    clientCert?: ClientCertOptions | false;
  }
}

const plugin: FastifyPluginCallback<ClientCertOptions> = (fastify, options, done) => {
  const { prefix: _prefix, ...pluginOptions } = options as ClientCertOptions & { prefix?: string };
  // A callback plugin must report errors through done(): avvio does not catch a synchronous throw
  // (it would escape as an uncaught exception and ready() would time out).
  let appWide: ClientCertAuth;
  try {
    appWide = createClientCertAuth(pluginOptions);
  } catch (error) {
    done(error as Error);
    return;
  }
  // Route overrides are compiled when the route is declared, so bad options fail at start-up.
  const perRoute = new WeakMap<ClientCertOptions, ClientCertAuth>();
  const compileRoute = (routeOptions: ClientCertOptions): ClientCertAuth => {
    let auth = perRoute.get(routeOptions);
    if (!auth) perRoute.set(routeOptions, (auth = createClientCertAuth({ ...pluginOptions, ...routeOptions })));
    return auth;
  };

  fastify.decorateRequest('clientCert', null);
  fastify.addHook('onRoute', (route) => {
    const setting = route.config?.clientCert;
    if (setting) compileRoute(setting);
  });
  fastify.addHook('onRequest', (request: FastifyRequest, reply: FastifyReply, next: HookHandlerDoneFunction) => {
    const setting = request.routeOptions.config?.clientCert;
    if (setting === false) return next();
    const auth = setting ? compileRoute(setting) : appWide;
    const result = auth.authenticate(request.raw);
    if (result instanceof Promise) result.then((settled) => settle(settled, request, reply, next), next);
    else settle(result, request, reply, next); // no closure per request on the synchronous (cached) path
  });
  done();
};

function settle(result: AuthResult, request: FastifyRequest, reply: FastifyReply, next: HookHandlerDoneFunction): void {
  if (result.ok) {
    request.clientCert = result.certificate;
    next();
    return;
  }
  // A Buffer, not an object: fastify would append "; charset=utf-8" to a JSON content-type.
  reply.code(result.problem.status).headers(PROBLEM_HEADERS).send(Buffer.from(JSON.stringify(result.problem)));
}

/** Fastify plugin (fastify 4 and 5): `fastify.register(clientCert, options)`; sets `request.clientCert`. */
// Not before 4.23: older 4.x has no request.routeOptions.config, so route settings would be ignored.
export const clientCert = fp(plugin, { fastify: '^4.23.0 || ^5.0.0', name: '@clientcert/fastify' });
export default clientCert;
