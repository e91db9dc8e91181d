/**
 * Real Nest apps for the module's tests, on either platform: served over HTTPS with the TLS options
 * of a client-certificate server, or over plain HTTP (behind a proxy), on 127.0.0.1, port 0.
 * Every injection is by explicit token (`@Inject`): esbuild, which runs these tests, emits no
 * decorator metadata for Nest to read constructor parameter types from.
 */
import type { AddressInfo } from 'node:net';
import { type INestApplication, Module, type ModuleMetadata } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ExpressAdapter } from '@nestjs/platform-express';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import type { TestCA, TestCertificate } from '../../packages/core/src/testkit/index.js';

export type Platform = 'express' | 'fastify';
export const PLATFORMS: Platform[] = ['express', 'fastify'];

/** The certificates every test uses: our CA and its client, a stranger's CA and its client. */
export interface Pki {
  root: TestCA;
  server: TestCertificate;
  alice: TestCertificate;
  foreign: TestCertificate;
}

export async function makePki(createCA: (options: { subject: string }) => Promise<TestCA>): Promise<Pki> {
  const root = await createCA({ subject: 'CN=Nest Test Root' });
  const stranger = await createCA({ subject: 'CN=Stranger Root' });
  return {
    root,
    server: await root.issue({ subject: 'CN=localhost', eku: ['serverAuth'], san: { ip: ['127.0.0.1'] } }),
    alice: await root.issue({ subject: 'CN=alice,O=Acme' }),
    foreign: await stranger.issue({ subject: 'CN=alice,O=Acme' }),
  };
}

/**
 * Applies parameter decorators as the compiler does for `method(@ClientCert() cert)`: Biome's
 * parser refuses parameter decorators unless `unsafeParameterDecoratorsEnabled` is set.
 */
export function withParameters(
  controller: abstract new (...args: never[]) => unknown,
  decorators: Record<string, ParameterDecorator[]>,
): void {
  for (const [method, list] of Object.entries(decorators))
    list.forEach((decorate, index) => {
      decorate(controller.prototype as object, method, index);
    });
}

/** A root module with this metadata: a class of its own per app. */
export function moduleOf(metadata: ModuleMetadata): new () => object {
  @Module(metadata)
  class TestAppModule {}
  return TestAppModule;
}

/** Quiet, and a start-up error thrown to the test, not a process.exit(). */
const NEST = { logger: false, abortOnError: false } as const;

export interface Running {
  url: string;
  app: INestApplication;
  close(): Promise<void>;
}

/**
 * Start `root` on `platform`, over HTTPS asking for a client certificate when `tls` is given;
 * `setup` runs before the app listens (global guards must be added before the routes are built).
 */
export async function start(
  platform: Platform,
  root: new () => object,
  tls?: Pki,
  setup?: (app: INestApplication) => void,
): Promise<Running> {
  const https = tls && {
    cert: tls.server.cert,
    key: tls.server.key,
    ca: tls.root.cert,
    requestCert: true,
    rejectUnauthorized: false,
  };
  const app =
    platform === 'express'
      ? await NestFactory.create(root, new ExpressAdapter(), { ...NEST, ...(https ? { httpsOptions: https } : {}) })
      : await NestFactory.create(root, new FastifyAdapter(https ? { https } : {}), NEST);
  setup?.(app);
  await app.listen(0, '127.0.0.1');
  const { port } = (app.getHttpServer() as { address(): AddressInfo }).address();
  return { url: `${tls ? 'https' : 'http'}://127.0.0.1:${port}`, app, close: () => app.close() };
}
