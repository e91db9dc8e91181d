// Compiled by `tsc` (npm test's type check), never run: the options of every adapter are typed,
// the right ones accepted and the wrong ones rejected (each `@ts-expect-error` fails the type check
// if the line below it ever becomes valid), and the identity-name extension point defaults to string.
// Narrowing it by augmentation is proved in the packed-package consumers
// (test/packaging/consumers.ts): augmenting here would narrow it for the core's own sources too.
import express, { type RequestHandler } from 'express';
import Fastify, { type FastifyContextConfig } from 'fastify';
import Koa, { type Middleware } from 'koa';
import type {
  Authorization,
  ClientCertIdentities,
  ClientCertificate,
  ClientCertOptions,
  IdentityName,
} from '../../packages/core/src/index.js';
import type { ClientCertIdentities as ExpressIdentities } from '../../packages/express/src/index.js';
import { clientCert as expressClientCert } from '../../packages/express/src/index.js';
import { clientCert as fastifyClientCert } from '../../packages/fastify/src/index.js';
import { clientCert as koaClientCert } from '../../packages/koa/src/index.js';

type Equals<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
const assertType = <T extends true>(_proof?: T): void => undefined;

// What the adapters return.
assertType<Equals<ReturnType<typeof expressClientCert>, RequestHandler>>();
assertType<Equals<ReturnType<typeof koaClientCert>, Middleware>>();
// Options are optional.
expressClientCert();
koaClientCert();

// Everything a README shows is accepted, in every adapter.
const everything: ClientCertOptions = {
  mode: 'accept',
  source: [
    'tls',
    'xfcc',
    'rfc9440',
    { header: 'x-client-cert', decode: (value: string) => Buffer.from(value, 'base64') },
  ],
  proxy: 'envoy',
  trustProxy: (address: string) => address === '10.0.0.1',
  ca: ['-----BEGIN CERTIFICATE-----', Buffer.from('')],
  intermediates: Buffer.from(''),
  verifyPolicy: { allowSha1Signatures: false, minRsaBits: 3072 },
  proxyVerified: false,
  pins: ['sha256:00', { issuer: '-----BEGIN CERTIFICATE-----' }],
  rules: {
    subject: { O: 'Acme' },
    san: { dns: ['*.example.org'] },
    spiffe: { trustDomain: 'example.org' },
    identities: [{ name: 'ops', commonName: 'alice' }, { thumbprint: 'ab'.repeat(20) }],
    predicate: (cert) => cert.subject.rfc4514.length > 0,
  },
  revocation: { policy: 'soft', crls: ['/etc/ssl/crl.pem'] },
  purpose: 'clientAuth',
  clock: () => new Date(),
  clockTolerance: 30,
  xfcc: { header: 'x-forwarded-client-cert', element: 'first', by: 'spiffe://example.org/gateway' },
  rejectStatus: 401,
  problemTypeBase: 'https://errors.example.org/',
  logger: console,
};
expressClientCert(everything);
koaClientCert(everything);
void Fastify().register(fastifyClientCert, everything);
koaClientCert({ trustProxy: false, logger: false, source: 'auto' });

// Wrong options are type errors, in every adapter.
// @ts-expect-error mode is require | accept | ignore
koaClientCert({ mode: 'optional' });
// @ts-expect-error trustProxy is not a number
expressClientCert({ trustProxy: 1 });
// @ts-expect-error ca is PEM text or DER, not a path object
koaClientCert({ ca: { path: 'ca.pem' } });
// @ts-expect-error rejectStatus is a number
expressClientCert({ rejectStatus: '401' });
// @ts-expect-error the XFCC element is last | first | only
expressClientCert({ xfcc: { element: 'middle' } });
// @ts-expect-error logger: false silences; true is not an option
koaClientCert({ logger: true });
// @ts-expect-error proxy names are a closed list
expressClientCert({ proxy: 'squid' });
// @ts-expect-error an identity claim name is checked
koaClientCert({ rules: { identities: [{ cn: 'alice' }] } });
// @ts-expect-error a predicate returns a verdict, not a string
expressClientCert({ rules: { predicate: () => 'yes' } });
// @ts-expect-error unknown options are type errors too
void Fastify().register(fastifyClientCert, { colour: 'blue' });
// @ts-expect-error clockTolerance is seconds, a number
void Fastify().register(fastifyClientCert, { clockTolerance: '30s' });

// Fastify route settings: options or false, nothing else.
const fastify = Fastify();
fastify.get(
  '/a',
  { config: { clientCert: { mode: 'require', rules: { subject: { CN: 'alice' } } } } },
  async () => 'ok',
);
fastify.get('/b', { config: { clientCert: false } }, async () => 'ok');
// @ts-expect-error true is not a route setting (options or false)
export const notASetting: FastifyContextConfig['clientCert'] = true;
// @ts-expect-error route options are checked like the plugin's
fastify.get('/d', { config: { clientCert: { mode: 'sometimes' } } }, async () => 'ok');

// express and koa: route-level middleware takes the same options.
express().get(
  '/admin',
  expressClientCert({ rules: { identities: [{ name: 'admin', commonName: 'root' }] } }),
  (req, res) => {
    res.json(req.clientCert?.authorization);
  },
);
new Koa().use(koaClientCert({ mode: 'ignore' }));

// The identity-name extension point: an empty interface (re-exported by the adapters), so names are
// plain strings until an application augments it (see the packages' README, "TypeScript").
assertType<Equals<keyof ClientCertIdentities, never>>();
assertType<Equals<ClientCertIdentities, ExpressIdentities>>();
assertType<Equals<IdentityName, string>>();
assertType<Equals<Authorization['identity'], string | null>>();
assertType<Equals<ClientCertificate['authorization'], Authorization | null>>();
