import type { ClientCertificate } from '@clientcert/core';
import { type CustomDecorator, createParamDecorator, type ExecutionContext, SetMetadata } from '@nestjs/common';
import { CLIENT_CERT_ROUTE_OPTIONS, type NestClientCertOptions } from './options.js';

/**
 * Options for one controller or route handler, merged over the module's (a handler's over its
 * controller's): `@ClientCertOptions({ mode: 'accept' })`. The merged configuration is compiled
 * once per handler, when the app starts. `{ mode: 'ignore' }` lets a route behind a global guard
 * go without a certificate.
 */
export function ClientCertOptions(options: NestClientCertOptions): CustomDecorator<string> {
  return SetMetadata(CLIENT_CERT_ROUTE_OPTIONS, options);
}

/**
 * The certificate `ClientCertGuard` admitted: a `ClientCertificate`, or null when the route's
 * mode let the request through without one (`accept`, `ignore`). Throws a TypeError (500) when
 * the guard did not run on the route: a mistake in the app, never a client's.
 */
export const ClientCert: () => ParameterDecorator = createParamDecorator(
  (_data: unknown, context: ExecutionContext): ClientCertificate | null => {
    const certificate = context.switchToHttp().getRequest<{ clientCert?: ClientCertificate | null }>().clientCert;
    if (certificate === undefined)
      throw new TypeError(
        'clientcert: @ClientCert() is on a route ClientCertGuard did not run on: add @UseGuards(ClientCertGuard) to the route or its controller, or register the guard globally',
      );
    return certificate;
  },
);
