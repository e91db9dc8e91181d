/**
 * The part of the consumer projects (test/packaging/consumers.ts) that uses the five packages
 * beyond the express, koa and fastify adapters, each the way its README's Usage shows it:
 *
 * - @clientcert/fetch: `createRequestAuth` and `authenticate(request, { remoteAddress })` on Web
 *   `Request`s, a refusal answered by `problemResponse`;
 * - @clientcert/hono: the middleware on a `new Hono()` app asked with `app.request`, the peer given
 *   by the `connection` option (there is no `@hono/node-server` to give it);
 * - @clientcert/aws-lambda: `authenticateEvent` on API Gateway HTTP API (payload 2.0) events, with
 *   and without the `clientCert` a mutual-TLS custom domain adds, in a handler answering as the
 *   README's does;
 * - @clientcert/passport: the `'client-cert'` strategy on an express app, `failWithError` with
 *   `clientCertProblems()`;
 * - @clientcert/nestjs: `ClientCertModule.forRoot`, `ClientCertGuard` and `@ClientCert()` on a Nest
 *   app on platform-express. TypeScript writes the decorators; JavaScript, which has no legacy
 *   decorator syntax, applies the same ones with the calls the compiler would emit
 *   (`Reflect.decorate`, and the parameter decorator called with its index).
 *
 * Each gets one caller with alice's certificate in an Envoy XFCC header from a trusted peer (for
 * Lambda: in API Gateway's `clientCert`) and one with nothing, and its outcomes go on the consumer's
 * JSON line as `[200, subject, 403, code]`, like the adapters'. The TypeScript consumers also
 * check, at compile time, the types these packages add (Hono's `c.get('clientCert')`, the fetch
 * result's certificate, the options each refuses).
 */

import type { Consumer } from './consumers.js';

/** The packages used here, by folder: the keys of their outcomes on the JSON line. */
export const INTEGRATIONS = ['fetch', 'hono', 'aws-lambda', 'passport', 'nestjs'] as const;

/**
 * Default imports `[name, module]`, then named imports `[names, module]` (`a: b` renames), in the
 * form consumers.ts writes the adapters' imports.
 */
export const INTEGRATION_DEFAULT_IMPORTS: Array<[string, string]> = [['passport', 'passport']];
export const INTEGRATION_NAMED_IMPORTS: Array<[string, string]> = [
  ['Hono', 'hono'],
  ['Controller, Get, Module, UseGuards', '@nestjs/common'],
  ['NestFactory', '@nestjs/core'],
  ['createRequestAuth, problemResponse', '@clientcert/fetch'],
  ['clientCert: honoClientCert, clientCertOf', '@clientcert/hono'],
  ['authenticateEvent, problemResponse: lambdaProblemResponse', '@clientcert/aws-lambda'],
  ['ClientCertStrategy, clientCertProblems', '@clientcert/passport'],
  ['ClientCert, ClientCertGuard, ClientCertModule', '@clientcert/nestjs'],
];
/** Loaded first, as a Nest app's entry point does, for the decorators' metadata. */
export const INTEGRATION_SIDE_EFFECT_IMPORTS = ['reflect-metadata'];
/** Type-only imports of the TypeScript consumers. */
export const INTEGRATION_TYPE_IMPORTS = [`import type { NestClientCertOptions } from '@clientcert/nestjs';`];

/** The installed versions the consumer prints beside the adapters' frameworks. */
export const INTEGRATION_VERSIONS = ['hono', 'passport', '@nestjs/core'] as const;

/** Compile-time checks of the five packages' types (declared, never called). */
export function integrationTypeChecks(): string {
  return `
export function integrationTypeChecks(): void {
  // Behind the middleware, its variables: null where none was required and none came.
  new Hono().use(honoClientCert()).get('/', (c) => {
    const certificate = c.get('clientCert');
    typed<Equals<typeof certificate, ClientCertificate | null>>();
    return c.text(clientCertOf(c).subject.rfc4514);
  });
  // In any app, by the import alone: undefined too, where the middleware did not run.
  new Hono().get('/', (c) => {
    const certificate = c.get('clientCert');
    typed<Equals<typeof certificate, ClientCertificate | null | undefined>>();
    return c.text(certificate?.subject.rfc4514 ?? '');
  });
  void (async (request: Request) => {
    const result = await createRequestAuth().authenticate(request, { remoteAddress: '127.0.0.1' });
    if (result.ok) typed<Equals<typeof result.certificate, ClientCertificate | null>>();
  });
  // @ts-expect-error an event has no peer address: trustProxy is not a Lambda option
  void authenticateEvent({}, { trustProxy: '127.0.0.1' });
  // @ts-expect-error the strategy's options are the core's
  new ClientCertStrategy({ mode: 'sometimes' }, () => false);
  // @ts-expect-error forRoot takes the core's options
  ClientCertModule.forRoot({ colour: 'blue' });
}
`;
}

/** The Nest controller (TypeScript decorators, or the calls they compile to) and a root module factory. */
function nestDeclarations(c: Consumer): string {
  if (c.ts) {
    return `
@Controller()
@UseGuards(ClientCertGuard)
class WhoamiController {
  @Get('whoami')
  whoami(@ClientCert() certificate: ClientCertificate) {
    return { subject: certificate.subject.rfc4514 };
  }
}

/** A root module per set of options: the test CA is made at run time. */
function nestModule(options: NestClientCertOptions) {
  @Module({ imports: [ClientCertModule.forRoot(options)], controllers: [WhoamiController] })
  class AppModule {}
  return AppModule;
}
`;
  }
  return `
class WhoamiController {
  whoami(certificate) {
    return { subject: certificate.subject.rfc4514 };
  }
}
// What TypeScript emits for @ClientCert() on the parameter, @Get('whoami') on the method, and
// @Controller() @UseGuards(ClientCertGuard) on the class.
ClientCert()(WhoamiController.prototype, 'whoami', 0);
Reflect.decorate(
  [Get('whoami')],
  WhoamiController.prototype,
  'whoami',
  Object.getOwnPropertyDescriptor(WhoamiController.prototype, 'whoami'),
);
Reflect.decorate([Controller(), UseGuards(ClientCertGuard)], WhoamiController);

/** A root module per set of options: the test CA is made at run time. */
function nestModule(options) {
  class AppModule {}
  Reflect.decorate([Module({ imports: [ClientCertModule.forRoot(options)], controllers: [WhoamiController] })], AppModule);
  return AppModule;
}
`;
}

/** Declarations at the consumer's top level, before `main()`. */
export function integrationDeclarations(c: Consumer): string {
  const t = (text: string): string => (c.ts ? text : '');
  return `${nestDeclarations(c)}
/**
 * An API Gateway HTTP API event (payload 2.0). With a client, the \`clientCert\` a custom domain with
 * mutual TLS adds, fields written as API Gateway writes them; without, none (a caller with nothing).
 */
function httpApiEvent(client${t(': testkit.TestCertificate | null')}) {
  const dn = (name${t(': string')}) => name.split('\\n').filter(Boolean).reverse().join(',');
  const clientCert = client && {
    clientCertPem: client.cert,
    subjectDN: dn(client.x509.subject),
    issuerDN: dn(client.x509.issuer),
    serialNumber: (client.x509.serialNumber.toLowerCase().match(/../g) ?? []).join(':'),
    validity: { notBefore: client.x509.validFrom, notAfter: client.x509.validTo },
  };
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath: '/whoami',
    rawQueryString: '',
    headers: { accept: '*/*', host: 'api.example.com' },
    requestContext: {
      accountId: '123456789012',
      apiId: 'a1b2c3d4e5',
      ...(clientCert ? { authentication: { clientCert } } : {}),
      domainName: 'api.example.com',
      http: { method: 'GET', path: '/whoami', protocol: 'HTTP/1.1', sourceIp: '198.51.100.7', userAgent: 'curl/8.5.0' },
      requestId: 'JKJaXmPLvHcESHA=',
      routeKey: '$default',
      stage: '$default',
      timeEpoch: 1796670238390,
    },
    isBase64Encoded: false,
  };
}
`;
}

/**
 * The statements in `main()` that run the five packages. In scope there: `ca`, `alice`, `xfcc`,
 * `options` (`{ ca, trustProxy: '127.0.0.1', logger: false }`), `probe(url)` (GET /whoami over HTTP
 * with and without the header), `answers(good, bad)` (the same from two Responses), `listen` and
 * `results`.
 */
export function integrationRuns(c: Consumer): string {
  const t = (text: string): string => (c.ts ? text : '');
  return `
  // The proxy's preset, as the READMEs write it for an app behind a TLS-terminating Envoy.
  const proxied = { ...options, proxy: 'envoy'${t(' as const')} };
  const withXfcc = { headers: { 'x-forwarded-client-cert': xfcc } };
  {
    const auth = createRequestAuth(proxied);
    const handle = async (request${t(': Request')})${t(': Promise<Response>')} => {
      const result = await auth.authenticate(request, { remoteAddress: '127.0.0.1' });
      if (!result.ok) return problemResponse(result);
      return Response.json({ subject: result.certificate?.subject.rfc4514 });
    };
    results.fetch = await answers(
      await handle(new Request('http://127.0.0.1/whoami', withXfcc)),
      await handle(new Request('http://127.0.0.1/whoami')),
    );
  }
  {
    const app = new Hono();
    app.use(honoClientCert({ ...proxied, connection: () => ({ remoteAddress: '127.0.0.1' }) }));
    app.get('/whoami', (c) => c.json({ subject: clientCertOf(c).subject.rfc4514 }));
    results.hono = await answers(await app.request('/whoami', withXfcc), await app.request('/whoami'));
  }
  {
    // Defined once, as at a function's module scope: authenticateEvent compiles it on first use.
    const lambdaOptions = { ca: ca.cert, logger: false${t(' as const')} };
    const handler = async (event${t(': unknown')}) => {
      const result = await authenticateEvent(event, lambdaOptions);
      if (!result.ok) return lambdaProblemResponse(result.problem, event);
      return { statusCode: 200, body: JSON.stringify({ subject: result.certificate?.subject.rfc4514 }) };
    };
    const good = await handler(httpApiEvent(alice));
    const bad = await handler(httpApiEvent(null));
    results['aws-lambda'] = [good.statusCode, JSON.parse(good.body).subject, bad.statusCode, JSON.parse(bad.body).code];
  }
  {
    passport.use(
      new ClientCertStrategy(proxied, (certificate, done) => {
        done(null, { name: certificate.subject.get('CN') });
      }),
    );
    const app = express();
    app.get('/whoami', passport.authenticate('client-cert', { session: false, failWithError: true }), (req, res) => {
      res.json({ subject: req.clientCert ? req.clientCert.subject.rfc4514 : null });
    });
    app.use(clientCertProblems());
    const server = http.createServer(app);
    results.passport = await probe(await listen(server));
    server.closeAllConnections();
    server.close();
  }
  {
    const app = await NestFactory.create(nestModule(proxied), { logger: false, forceCloseConnections: true });
    await app.listen(0, '127.0.0.1');
    results.nestjs = await probe(await app.getUrl());
    await app.close();
  }`;
}
