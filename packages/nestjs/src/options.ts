import type { ClientCertOptions as CoreOptions, PrincipalOption } from '@clientcert/core';
import type { ExecutionContext, InjectionToken, ModuleMetadata, OptionalFactoryDependency } from '@nestjs/common';

/** The injection token of the module's options (`ClientCertModule.forRoot` / `forRootAsync`). */
export const CLIENT_CERT_OPTIONS = Symbol.for('@clientcert/nestjs:options');

/** The metadata key `@ClientCertOptions()` writes on a controller or a route handler. */
export const CLIENT_CERT_ROUTE_OPTIONS = '@clientcert/nestjs:route-options';

/**
 * The core's options, with `principal` called with Nest's `ExecutionContext` (the same on every
 * platform: `context.switchToHttp().getRequest()` is express's or fastify's request).
 */
export interface NestClientCertOptions extends Omit<CoreOptions, 'principal'> {
  /** The app's user for an admitted certificate, put on the request's `user` (see `principalProperty`); null → 403. */
  principal?: PrincipalOption<ExecutionContext>;
}

/** `ClientCertModule.forRootAsync`: the options from a factory, with its own injections. */
export interface ClientCertModuleAsyncOptions extends Pick<ModuleMetadata, 'imports'> {
  /** Returns the options (or a promise of them); called once, when the app starts. */
  // biome-ignore lint/suspicious/noExplicitAny: Nest's own factory providers take any arguments
  useFactory: (...args: any[]) => NestClientCertOptions | Promise<NestClientCertOptions>;
  /** Providers whose instances are passed to `useFactory`, in order. */
  inject?: Array<InjectionToken | OptionalFactoryDependency>;
}
