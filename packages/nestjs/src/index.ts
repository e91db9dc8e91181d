/**
 * NestJS integration: `ClientCertModule.forRoot(options)` / `forRootAsync(...)`, `ClientCertGuard`
 * (global, per controller, per route), `@ClientCertOptions()` per controller or route, and
 * `@ClientCert()` for the admitted certificate, on @nestjs/platform-express and
 * @nestjs/platform-fastify. The core decides; this package translates.
 */
export type {
  ClientCertIdentities,
  ClientCertificate,
  ClientCertUser,
  ProblemDetails,
  RejectionCode,
} from '@clientcert/core';
export { ClientCertError, isClientCertError } from '@clientcert/core';
export { ClientCert, ClientCertOptions } from './decorators.js';
export { ClientCertExceptionFilter } from './filter.js';
export { ClientCertAuthenticator, ClientCertException, ClientCertGuard } from './guard.js';
export { ClientCertModule } from './module.js';
export {
  CLIENT_CERT_OPTIONS,
  CLIENT_CERT_ROUTE_OPTIONS,
  type ClientCertModuleAsyncOptions,
  type NestClientCertOptions,
} from './options.js';
