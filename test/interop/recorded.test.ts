/**
 * "No certificate" as the real proxies say it, recorded from interop.test.ts (nginx 1.22,
 * HAProxy 2.6, Caddy 2.6.2) and checked here without running them, so that it is covered on
 * machines where the proxies are not installed too.
 */

import type { Socket } from 'node:net';
import { expect } from 'chai';
import { type AuthResult, type ClientCertOptions, createClientCertAuth } from '../../packages/core/src/index.js';
import { type InteropFixtures, interopFixtures } from './fixtures.js';

/** Caddy 2.6 sends its placeholder verbatim when the client presented no certificate. */
const CADDY_NO_CERTIFICATE = '{http.request.tls.client.certificate_der_base64}';

function fromLoopbackProxy(headers: Record<string, string>): { socket: Socket; headers: Record<string, string> } {
  return { socket: { remoteAddress: '127.0.0.1', encrypted: false } as unknown as Socket, headers };
}

async function decide(options: ClientCertOptions, headers: Record<string, string>): Promise<AuthResult> {
  return createClientCertAuth({ logger: false, trustProxy: '127.0.0.1', ...options }).authenticate(
    fromLoopbackProxy(headers),
  );
}

function rejectedWith(result: AuthResult): string {
  expect(result.ok, 'expected a rejection').to.equal(false);
  return (result as Extract<AuthResult, { ok: false }>).error.code;
}

describe('interop: "no certificate" as the real proxies send it', () => {
  let f: InteropFixtures;

  before(async () => {
    f = await interopFixtures();
  });

  describe('Caddy 2.6: the unresolved placeholder {http.request.tls.client.certificate_der_base64}', () => {
    it('reads as no certificate: mode accept → clientCert null', async () => {
      const result = await decide(
        { proxy: 'caddy', mode: 'accept', ca: f.root.cert },
        { 'x-client-cert': CADDY_NO_CERTIFICATE },
      );
      expect(result).to.deep.equal({ ok: true, certificate: null });
    });

    it('reads as no certificate: mode require → client_certificate_required (not malformed)', async () => {
      const result = await decide({ proxy: 'caddy', ca: f.root.cert }, { 'x-client-cert': CADDY_NO_CERTIFICATE });
      expect(rejectedWith(result)).to.equal('client_certificate_required');
    });

    it('only that exact text: another unresolved placeholder, or the placeholder with more around it, is malformed', async () => {
      for (const value of [
        '{http.request.tls.client.certificate_pem}',
        ` ${CADDY_NO_CERTIFICATE}`,
        `${CADDY_NO_CERTIFICATE}, ${CADDY_NO_CERTIFICATE}`,
      ]) {
        const result = await decide({ proxy: 'caddy', mode: 'accept', ca: f.root.cert }, { 'x-client-cert': value });
        expect(rejectedWith(result), value).to.equal('client_certificate_malformed');
      }
    });

    it('with a chain header beside it, as with any missing certificate, is malformed', async () => {
      const options: ClientCertOptions = {
        proxy: 'caddy',
        mode: 'accept',
        ca: f.root.cert,
        base64Der: { chainHeader: 'x-client-chain' },
      };
      const result = await decide(options, {
        'x-client-cert': CADDY_NO_CERTIFICATE,
        'x-client-chain': f.root.der.toString('base64'),
      });
      expect(rejectedWith(result)).to.equal('client_certificate_malformed');
    });

    it('a certificate in the same header is still read', async () => {
      const result = await decide(
        { proxy: 'caddy', ca: f.root.cert },
        { 'x-client-cert': f.alice.der.toString('base64') },
      );
      expect(result.ok && result.certificate?.fingerprints.sha256).to.equal(f.alice.sha256);
    });
  });

  describe('nginx: the Envoy-style XFCC directive without a certificate, Cert="";Subject=""', () => {
    it('reads as no certificate: mode accept → clientCert null', async () => {
      const result = await decide(
        { source: 'xfcc', mode: 'accept', ca: f.root.cert },
        { 'x-forwarded-client-cert': 'Cert="";Subject=""' },
      );
      expect(result).to.deep.equal({ ok: true, certificate: null });
    });

    it('mode require → client_certificate_required', async () => {
      const result = await decide(
        { source: 'xfcc', ca: f.root.cert },
        { 'x-forwarded-client-cert': 'Cert="";Subject=""' },
      );
      expect(rejectedWith(result)).to.equal('client_certificate_required');
    });
  });

  describe('nginx: ssl-client-verify NONE and no ssl-client-cert', () => {
    it('mode accept → clientCert null, also without ca (the verdict alone is not a certificate)', async () => {
      const result = await decide({ proxy: 'nginx', mode: 'accept' }, { 'ssl-client-verify': 'NONE' });
      expect(result).to.deep.equal({ ok: true, certificate: null });
    });
  });
});
