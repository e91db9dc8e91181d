import {
  type AuthResult,
  admittedCertificate,
  type ClientCertAuth,
  ClientCertError,
  type ClientCertificate,
  type ClientCertOptions,
  createClientCertAuth,
  type Logger,
  PROBLEM_HEADERS,
  type PrincipalOption,
  type PrincipalStep,
} from '@clientcert/core';
import type {
  FastifyBaseLogger,
  FastifyInstance,
  FastifyPluginCallback,
  FastifyReply,
  FastifyRequest,
  HookHandlerDoneFunction,
} from 'fastify';
import fp from 'fastify-plugin';

export type {
  ClientCertIdentities,
  ClientCertificate,
  ClientCertOptions,
  ClientCertUser,
  ProblemDetails,
  RejectionCode,
} from '@clientcert/core';
export { ClientCertError, isClientCertError } from '@clientcert/core';

declare module 'fastify' {
  // Importing this package makes `request.clientCert` typed, and the route-level setting.
  interface FastifyRequest {
    /** The authenticated client certificate, or null when none was required and none came. */
    clientCert: ClientCertificate | null;
  }
  interface FastifyContextConfig {
    /** Per route: options merged over the plugin's, or `false` to skip client certificates on this route. */
    clientCert?: FastifyClientCertOptions | false;
  }
}

/** Scopes (fastify instances) the plugin is registered in: once per scope. */
const registeredScopes = new WeakSet<FastifyInstance>();

/**
 * One registration per scope. A registration applies to the routes of its scope and of the scopes
 * inside it, as every fastify hook does: sibling scopes each have their own options, and an inner
 * registration adds its checks to an outer one's (a request must pass both; `request.clientCert`
 * is the inner one's), never lifts them. A route's `config.clientCert` applies to every registration
 * that reaches it (`false` opts the route out of all of them).
 */
const plugin: FastifyPluginCallback<FastifyClientCertOptions> = (fastify, options, done) => {
  // A callback plugin must report errors through done(): avvio does not catch a synchronous throw
  // (it would escape as an uncaught exception and ready() would time out).
  try {
    register(fastify, options);
  } catch (error) {
    done(error as Error);
    return;
  }
  done();
};

function register(fastify: FastifyInstance, options: FastifyClientCertOptions): void {
  const { prefix: _prefix, ...pluginOptions } = options as ClientCertOptions & { prefix?: string };
  // fastify-plugin shares the registering scope with the plugin, so a second registration in the
  // same scope would stack a second app-wide configuration on the first one's routes: ambiguous.
  if (registeredScopes.has(fastify)) {
    throw new ClientCertError(
      'invalid_option',
      'clientCert is registered twice in the same fastify scope: register it once per scope. For other options on ' +
        'some routes, register it inside an encapsulated scope (fastify.register(async (scope) => { await ' +
        'scope.register(clientCert, options); scope.get(...) })) or set config.clientCert on those routes.',
    );
  }
  // fastify's own logger, when the app has one, unless the options name another (or `false`).
  const logger = fastifyLogger(fastify);
  if (logger !== undefined && pluginOptions.logger === undefined) pluginOptions.logger = logger;
  const appWide = createClientCertAuth(pluginOptions);
  // Route overrides are compiled when the route is declared, so bad options fail at start-up.
  const perRoute = new WeakMap<ClientCertOptions, ClientCertAuth>();
  const compileRoute = (routeOptions: ClientCertOptions): ClientCertAuth => {
    let auth = perRoute.get(routeOptions);
    if (!auth) perRoute.set(routeOptions, (auth = createClientCertAuth({ ...pluginOptions, ...routeOptions })));
    return auth;
  };

  // Inner scopes inherit the decorator and fastify refuses to add it twice: decorate only where
  // no outer registration did (sibling scopes each decorate their own).
  if (!fastify.hasRequestDecorator('clientCert')) fastify.decorateRequest('clientCert', null);
  fastify.addHook('onRoute', (route) => {
    const setting = route.config?.clientCert;
    if (setting) compileRoute(setting);
  });
  fastify.addHook('onRequest', (request: FastifyRequest, reply: FastifyReply, next: HookHandlerDoneFunction) => {
    const setting = request.routeOptions.config?.clientCert;
    if (setting === false) return next();
    const auth = setting ? compileRoute(setting) : appWide;
    if (auth.options.principal !== null) return withPrincipal(auth, auth.options.principal, request, reply, next);
    const result = auth.authenticate(request.raw);
    if (result instanceof Promise) result.then((settled) => settle(settled, request, reply, next), next);
    else settle(result, request, reply, next); // no closure per request on the synchronous (cached) path
  });
  registeredScopes.add(fastify);
}

/**
 * The app's logger (pino) in the shape the core takes, or undefined when the app has none
 * (`fastify()` without `logger`: its stand-in has no level), and the core's default applies.
 */
function fastifyLogger(fastify: FastifyInstance): Logger | undefined {
  const log = fastify.log as Partial<FastifyBaseLogger> | undefined;
  if (log === undefined || typeof log.level !== 'string' || log.level === 'silent') return undefined;
  return {
    info: (message) => log.info!(message),
    warn: (message) => log.warn!(message),
    debug: (message) => log.debug!(message),
  };
}

/**
 * The options, with `principal` called with fastify's request. The user goes on `request.user`
 * (see `principalProperty`), not declared on FastifyRequest here: @fastify/jwt and
 * @fastify/passport declare `user` their own way, and two declarations would not compile.
 */
export interface FastifyClientCertOptions extends Omit<ClientCertOptions, 'principal'> {
  /** The app's user for an admitted certificate; null → 403. */
  principal?: PrincipalOption<FastifyRequest>;
}

/** With a `principal`: the user mapped, then placed; a throw from the mapping goes to fastify's error handler (500). */
function withPrincipal(
  auth: ClientCertAuth,
  principal: PrincipalStep,
  request: FastifyRequest,
  reply: FastifyReply,
  next: HookHandlerDoneFunction,
): void {
  const place = (settled: AuthResult): void => {
    if (settled.ok && settled.principal !== undefined)
      (request as unknown as Record<string, unknown>)[principal.property] = settled.principal;
    settle(settled, request, reply, next);
  };
  let mapped: AuthResult | Promise<AuthResult>;
  try {
    mapped = auth.authenticate(request.raw, request); // the core maps the user, given fastify's request
  } catch (error) {
    next(error as Error);
    return;
  }
  if (mapped instanceof Promise) mapped.then(place, next);
  else place(mapped);
}

function settle(result: AuthResult, request: FastifyRequest, reply: FastifyReply, next: HookHandlerDoneFunction): void {
  if (result.ok) {
    request.clientCert = result.certificate;
    next();
    return;
  }
  // A Buffer, not an object: fastify would append "; charset=utf-8" to a JSON content-type.
  reply
    .code(result.problem.status)
    .headers(PROBLEM_HEADERS)
    .send(Buffer.from(JSON.stringify(result.problem)));
}

/**
 * Fastify plugin (fastify 4 and 5): `fastify.register(clientCert, options)`; sets `request.clientCert`.
 * Runs with `http2: true` too (TLS or cleartext): an HTTP/2 request's connection is its session.
 */
// Not before 4.23: older 4.x has no request.routeOptions.config, so route settings would be ignored.
export const clientCert = fp(plugin, { fastify: '^4.23.0 || ^5.0.0', name: '@clientcert/fastify' });
/**
 * The certificate admitted on this request, typed non-null: for handlers behind the plugin with
 * `mode: 'require'`, where it is always set. Throws a TypeError when the request has none (the
 * plugin is not registered in the route's scope, or its mode let the request through without
 * one): a mistake in the app, never a client's.
 */
export function clientCertOf(request: FastifyRequest): ClientCertificate {
  return admittedCertificate(request.clientCert, 'request.clientCert', true);
}

export default clientCert;
