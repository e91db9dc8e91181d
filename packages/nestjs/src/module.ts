import { type DynamicModule, Module, type Provider } from '@nestjs/common';
import { APP_FILTER, DiscoveryModule } from '@nestjs/core';
import { ClientCertExceptionFilter } from './filter.js';
import { ClientCertAuthenticator, ClientCertGuard } from './guard.js';
import { CLIENT_CERT_OPTIONS, type ClientCertModuleAsyncOptions, type NestClientCertOptions } from './options.js';

/** What every registration provides: the guard anywhere in the app, and refusals as problem+json. */
const PROVIDERS: Provider[] = [
  ClientCertAuthenticator,
  ClientCertGuard,
  { provide: APP_FILTER, useClass: ClientCertExceptionFilter },
];

/**
 * The module: import it once, in the root module. It is global, so that `ClientCertGuard` can be
 * used in any module's controllers without importing it again.
 */
@Module({})
// biome-ignore lint/complexity/noStaticOnlyClass: Nest's dynamic modules are classes with static factories
export class ClientCertModule {
  /** The options, given now. */
  static forRoot(options: NestClientCertOptions = {}): DynamicModule {
    return {
      module: ClientCertModule,
      global: true,
      imports: [DiscoveryModule],
      providers: [{ provide: CLIENT_CERT_OPTIONS, useValue: options }, ...PROVIDERS],
      exports: [CLIENT_CERT_OPTIONS, ClientCertAuthenticator, ClientCertGuard],
    };
  }

  /** The options from a factory (a config service, a secret store), resolved when the app starts. */
  static forRootAsync(options: ClientCertModuleAsyncOptions): DynamicModule {
    return {
      module: ClientCertModule,
      global: true,
      imports: [DiscoveryModule, ...(options.imports ?? [])],
      providers: [
        { provide: CLIENT_CERT_OPTIONS, useFactory: options.useFactory, inject: options.inject ?? [] },
        ...PROVIDERS,
      ],
      exports: [CLIENT_CERT_OPTIONS, ClientCertAuthenticator, ClientCertGuard],
    };
  }
}
