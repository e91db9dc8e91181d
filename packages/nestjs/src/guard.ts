import {
  type AuthResult,
  type ClientCertAuth,
  type ClientCertOptions as CoreOptions,
  createClientCertAuth,
  type Logger,
  type ProblemDetails,
  type RequestLike,
} from '@clientcert/core';
import {
  type CanActivate,
  type ExecutionContext,
  HttpException,
  Inject,
  Injectable,
  Logger as NestLogger,
  type OnModuleInit,
} from '@nestjs/common';
import { DiscoveryService, MetadataScanner, Reflector } from '@nestjs/core';
import { CLIENT_CERT_OPTIONS, CLIENT_CERT_ROUTE_OPTIONS, type NestClientCertOptions } from './options.js';

/**
 * A refusal, as Nest's exception layer carries it: the response is the core's RFC 9457 problem
 * object, the status the problem's. `ClientCertExceptionFilter` sends it as
 * `application/problem+json`; without that filter Nest's default one sends the same body as JSON.
 */
export class ClientCertException extends HttpException {
  constructor(readonly problem: ProblemDetails) {
    super(problem, problem.status);
  }
}

// biome-ignore lint/complexity/noBannedTypes: the keys are Nest's controller classes and handlers
type Handler = Function;

/**
 * The compiled authentication: the module's, and one per handler that `@ClientCertOptions()`
 * reaches, all made when the app starts (bad options fail there, naming the option) and kept. One
 * instance per app, shared by every guard, so that each configuration has one set of caches.
 */
// Injected into properties, not constructor parameters: by explicit token, as bundlers that emit
// no decorator metadata (esbuild) need, and without parameter decorators in this package.
@Injectable()
export class ClientCertAuthenticator implements OnModuleInit {
  @Inject(CLIENT_CERT_OPTIONS) private readonly moduleOptions!: NestClientCertOptions;
  @Inject(Reflector) private readonly reflector!: Reflector;
  @Inject(DiscoveryService) private readonly discovery!: DiscoveryService;
  @Inject(MetadataScanner) private readonly scanner!: MetadataScanner;
  private options!: NestClientCertOptions;
  private appWide!: ClientCertAuth;
  private readonly perHandler = new WeakMap<Handler, WeakMap<Handler, ClientCertAuth>>();

  onModuleInit(): void {
    this.options = { ...this.moduleOptions, logger: this.moduleOptions.logger ?? nestLogger() };
    this.appWide = createClientCertAuth(this.options as CoreOptions);
    for (const { metatype, instance } of this.discovery.getControllers()) {
      const prototype = instance ? (Object.getPrototypeOf(instance) as Record<string, unknown>) : undefined;
      if (typeof metatype !== 'function' || prototype === undefined) continue;
      for (const name of this.scanner.getAllMethodNames(prototype)) {
        const handler = prototype[name];
        if (typeof handler === 'function') this.compile(metatype, handler);
      }
    }
  }

  /** The authentication for this handler: the module's options, then the controller's, then the handler's. */
  for(context: ExecutionContext): ClientCertAuth {
    const controller = context.getClass();
    const handler = context.getHandler();
    // Compiled at start-up for every controller Nest knows; a handler it did not list is compiled now.
    return this.perHandler.get(controller)?.get(handler) ?? this.compile(controller, handler);
  }

  private compile(controller: Handler, handler: Handler): ClientCertAuth {
    const [onController, onHandler] = [controller, handler].map((target) =>
      this.reflector.get<NestClientCertOptions | undefined>(CLIENT_CERT_ROUTE_OPTIONS, target),
    );
    const auth =
      onController === undefined && onHandler === undefined
        ? this.appWide
        : createClientCertAuth({ ...this.options, ...onController, ...onHandler } as CoreOptions);
    let handlers = this.perHandler.get(controller);
    if (!handlers) this.perHandler.set(controller, (handlers = new WeakMap()));
    handlers.set(handler, auth);
    return auth;
  }
}

/** Nest's logger under the context `ClientCert`, in the shape the core takes. */
function nestLogger(): Logger {
  const logger = new NestLogger('ClientCert');
  return {
    info: (message: string) => logger.log(message),
    warn: (message: string) => logger.warn(message),
    debug: (message: string) => logger.debug(message),
  };
}

/** What the guard writes on the request: the certificate, and the user `principal` maps. */
type Writable = Record<string, unknown>;

/**
 * Authenticates the client certificate of an HTTP request and puts it on the request (read it
 * with `@ClientCert()`), or refuses with a `ClientCertException`. Use it globally (`APP_GUARD`,
 * `app.useGlobalGuards(app.get(ClientCertGuard))`), per controller or per route
 * (`@UseGuards(ClientCertGuard)`), on `@nestjs/platform-express` or `@nestjs/platform-fastify`.
 */
@Injectable()
export class ClientCertGuard implements CanActivate {
  @Inject(ClientCertAuthenticator) private readonly authenticator!: ClientCertAuthenticator;

  canActivate(context: ExecutionContext): boolean | Promise<boolean> {
    // Only HTTP requests carry a certificate here; a guard on a microservice or gateway handler is a mistake.
    if (context.getType() !== 'http')
      throw new TypeError(
        `clientcert: ClientCertGuard runs on HTTP handlers only, not on '${context.getType()}' ones: remove it from this handler`,
      );
    const auth = this.authenticator.for(context);
    const request = context.switchToHttp().getRequest<Writable>();
    const node = nodeRequest(request);
    const result = auth.options.principal === null ? auth.authenticate(node) : auth.authenticate(node, context);
    const property = auth.options.principal?.property;
    if (result instanceof Promise) return result.then((settled) => settle(settled, request, property));
    return settle(result, request, property);
  }
}

/** The raw Node request: fastify's request wraps it as `.raw`, express's request is one. */
function nodeRequest(request: Writable): RequestLike {
  const raw = request.raw as RequestLike | undefined;
  return typeof raw === 'object' && raw !== null && typeof raw.headers === 'object'
    ? raw
    : (request as unknown as RequestLike);
}

function settle(result: AuthResult, request: Writable, property: string | undefined): boolean {
  if (!result.ok) throw new ClientCertException(result.problem);
  request.clientCert = result.certificate;
  if (property !== undefined && result.principal !== undefined) request[property] = result.principal;
  return true;
}
