/**
 * Certificates for the example tests (made once per run with the test kit) and the checks of
 * their responses.
 */
import { expect } from 'chai';
import { createCA, type TestCA, type TestCertificate } from '../../packages/core/src/testkit/index.js';
import type { ClientResponse } from '../helpers/http-client.js';

export interface Fixtures {
  root: TestCA;
  server: TestCertificate;
  alice: TestCertificate;
  /** Another valid client of the same CA. */
  bob: TestCertificate;
  /** A client of a CA nobody trusts. */
  mallory: TestCertificate;
}

let fixtures: Promise<Fixtures> | undefined;

export function exampleFixtures(): Promise<Fixtures> {
  return (fixtures ??= (async () => {
    const [root, other] = await Promise.all([
      createCA({ subject: 'CN=Examples Root CA,O=clientcert' }),
      createCA({ subject: 'CN=Other CA' }),
    ]);
    const [server, alice, bob, mallory] = await Promise.all([
      root.issue({ subject: 'CN=localhost', eku: ['serverAuth'], san: { dns: ['localhost'], ip: ['127.0.0.1'] } }),
      root.issue({
        subject: 'CN=alice,OU=payments,O=Acme',
        san: {
          dns: ['alice.example.org'],
          uri: ['spiffe://example.org/ns/pay/sa/alice'],
          email: ['alice@example.org'],
        },
      }),
      root.issue({ subject: 'CN=bob,O=Acme' }),
      other.issue({ subject: 'CN=mallory' }),
    ]);
    return { root, server, alice, bob, mallory };
  })());
}

/** The JSON body, checking the media type that goes with the status. */
export function json(res: ClientResponse): Record<string, unknown> {
  const type = res.status === 200 ? 'application/json' : 'application/problem+json';
  expect(res.headers['content-type'], res.text).to.match(new RegExp(`^${type.replace('+', '\\+')}(;|$)`));
  return JSON.parse(res.text) as Record<string, unknown>;
}

/** A 403 problem response with this code. */
export function expectProblem(res: ClientResponse, code: string): void {
  expect(res.status, res.text).to.equal(403);
  const body = json(res);
  expect(body.code).to.equal(code);
  expect(body.status).to.equal(403);
}
