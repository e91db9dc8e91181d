/**
 * The conformance table's server factories for @clientcert/nestjs (the shape of
 * test/conformance/harness.ts's `Adapter`), one per platform: `ClientCertModule.forRoot` with the
 * scenario's options, a controller behind `ClientCertGuard` with `GET /whoami` and each extra
 * route (its options through `@ClientCertOptions`, merged over the module's as fastify's route
 * config is), and the routes that opt out on a controller without the guard.
 */
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { Controller, Get, type INestApplication, UseGuards } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ExpressAdapter } from '@nestjs/platform-express';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import type { ClientCertificate, ClientCertOptions as CoreOptions } from '../../packages/core/src/index.js';
import {
  ClientCert,
  ClientCertGuard,
  ClientCertModule,
  ClientCertOptions,
  type NestClientCertOptions,
} from '../../packages/nestjs/src/index.js';
import {
  type Adapter,
  type AppSpec,
  quiet,
  type RunningApp,
  type TlsServerOptions,
  whoami,
} from '../conformance/harness.js';
import { moduleOf, type Platform } from './app.js';

/** `Adapter`, named for the module on its platform (the harness's name union lists the framework adapters). */
export type NestAdapter = Omit<Adapter, 'name'> & { name: `nestjs-${Platform}` };

const require = createRequire(import.meta.url);

type Prototype = Record<string, unknown>;

/** A method answering the certificate at `path`, decorated as `@Get(path) m(@ClientCert() c)` would be. */
function route(prototype: Prototype, key: string, path: string, options?: CoreOptions, guarded = true): void {
  prototype[key] = guarded ? (certificate: ClientCertificate | null) => whoami(certificate) : () => whoami(undefined);
  const descriptor = Object.getOwnPropertyDescriptor(prototype, key)!;
  Get(path)(prototype, key, descriptor);
  if (options) ClientCertOptions(options as NestClientCertOptions)(prototype, key, descriptor);
  if (guarded) ClientCert()(prototype, key, 0);
}

/** The guarded controller and the opted-out one, for this spec's routes. */
function controllers(spec: AppSpec): Array<new () => object> {
  class Guarded {}
  class OptedOut {}
  route(Guarded.prototype as Prototype, 'whoami', '/whoami');
  (spec.routes ?? []).forEach((extra, index) => {
    if (extra.clientCert === false)
      route(OptedOut.prototype as Prototype, `route${index}`, extra.path, undefined, false);
    else route(Guarded.prototype as Prototype, `route${index}`, extra.path, extra.clientCert);
  });
  UseGuards(ClientCertGuard)(Guarded);
  Controller()(Guarded);
  Controller()(OptedOut);
  return [Guarded, OptedOut];
}

async function create(platform: Platform, root: new () => object, tls?: TlsServerOptions): Promise<INestApplication> {
  const quietNest = { logger: false, abortOnError: false } as const;
  return platform === 'express'
    ? NestFactory.create(root, new ExpressAdapter(), { ...quietNest, ...(tls ? { httpsOptions: tls } : {}) })
    : NestFactory.create(root, new FastifyAdapter(tls ? { https: tls } : {}), quietNest);
}

function nestAdapter(platform: Platform): NestAdapter {
  return {
    name: `nestjs-${platform}`,
    version: (require('@nestjs/core/package.json') as { version: string }).version,
    http2: false,
    async start(spec: AppSpec): Promise<RunningApp> {
      if (spec.http2) throw new Error('the conformance table runs the Nest module over HTTP/1.1 only');
      const imports = [ClientCertModule.forRoot(quiet(spec.options) as NestClientCertOptions)];
      const app = await create(platform, moduleOf({ imports, controllers: controllers(spec) }), spec.tls);
      await app.listen(0, '127.0.0.1');
      const { port } = (app.getHttpServer() as { address(): AddressInfo }).address();
      return { url: `${spec.tls ? 'https' : 'http'}://127.0.0.1:${port}`, close: () => app.close() };
    },
    async construct(options, where) {
      // App-wide, the module's options; on a route, its @ClientCertOptions: both compiled at init.
      const spec: AppSpec =
        where === 'app'
          ? { options: options as CoreOptions }
          : { options: { logger: false }, routes: [{ path: '/route', clientCert: options as CoreOptions }] };
      const imports = [ClientCertModule.forRoot(spec.options as NestClientCertOptions)];
      const app = await create(platform, moduleOf({ imports, controllers: controllers(spec) }));
      try {
        await app.init();
      } finally {
        await app.close();
      }
    },
  };
}

/** The module on both platforms, for the conformance table's list of adapters. */
export const nestjsAdapters: NestAdapter[] = [nestAdapter('express'), nestAdapter('fastify')];
