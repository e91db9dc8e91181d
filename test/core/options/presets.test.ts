import { expect } from 'chai';
import { createClientCertAuth } from '../../../packages/core/src/create.js';
import { ClientCertError } from '../../../packages/core/src/errors.js';
import {
  PRESETS,
  PROXY_NAMES,
  type ProxyName,
  type ProxyPreset,
  presetHeaderSource,
  resolvePreset,
} from '../../../packages/core/src/options/presets.js';
import {
  compileHeaderSource,
  type ForwardedCertificate,
  readHeaderSource,
} from '../../../packages/core/src/sources/headers.js';
import { parseXfcc, selectXfccElement } from '../../../packages/core/src/sources/xfcc.js';
import {
  createCA,
  createSelfSigned,
  envoyXfcc,
  type TestCA,
  type TestCertificate,
} from '../../../packages/core/src/testkit/index.js';
import { pemToDer } from '../../../packages/core/src/x509/certificate.js';
import { albEscape, b64, nginxEscape } from '../../helpers/encodings.js';

const REQUIRED: readonly ProxyName[] = [
  'azure-container-apps',
  'envoy',
  'istio',
  'nginx',
  'ingress-nginx',
  'traefik',
  'haproxy',
  'caddy',
  'aws-alb',
  'cloudflare',
  'cloudflare-rfc9440',
  'azure-app-service',
];

describe('presets', () => {
  let root: TestCA;
  let intermediate: TestCA;
  let client: TestCertificate;

  before(async () => {
    root = await createCA({ subject: 'CN=Presets Root' });
    intermediate = await root.intermediate({ subject: 'CN=Presets Intermediate' });
    client = await intermediate.issue({ subject: 'CN=client', keyType: 'rsa' });
  });

  describe('the table', () => {
    it('has every proxy the issue names (and aws-alb-passthrough), under its own name', () => {
      for (const name of REQUIRED) expect(PRESETS[name].proxy).to.equal(name);
      expect([...PROXY_NAMES].sort()).to.deep.equal([...REQUIRED, 'aws-alb-passthrough'].sort());
    });

    it('is frozen all the way down', () => {
      expect(Object.isFrozen(PRESETS)).to.equal(true);
      expect(Object.isFrozen(PROXY_NAMES)).to.equal(true);
      for (const preset of Object.values(PRESETS)) {
        expect(Object.isFrozen(preset), preset.proxy).to.equal(true);
        if (preset.verifyHeader) {
          expect(Object.isFrozen(preset.verifyHeader)).to.equal(true);
          expect(Object.isFrozen(preset.verifyHeader.success)).to.equal(true);
        }
      }
    });

    it('every preset is well formed: lower-case header names, one-line notes, proxyVerifies follows verification', () => {
      for (const preset of Object.values(PRESETS)) {
        const names = [preset.header, preset.chainHeader, preset.infoHeader, preset.verifyHeader?.name].filter(
          (h) => h !== undefined,
        );
        for (const name of names) expect(name, preset.proxy).to.match(/^[a-z0-9-]+$/);
        expect(new Set(names).size, preset.proxy).to.equal(names.length);
        for (const note of [preset.strips, preset.setup]) {
          expect(note.length, preset.proxy).to.be.greaterThan(20);
          expect(note, preset.proxy).to.not.include('\n');
        }
        expect(preset.proxyVerifies, preset.proxy).to.equal(
          preset.verification === 'always' || preset.verification === 'header',
        );
        expect(preset.verification === 'header', preset.proxy).to.equal(preset.verifyHeader !== undefined);
        expect(preset.xfccElement !== undefined, preset.proxy).to.equal(preset.source === 'xfcc');
        expect(preset.albMode !== undefined, preset.proxy).to.equal(preset.source === 'aws-alb');
      }
    });

    it('says what each proxy verified (as each proxy documents it)', () => {
      const summary = Object.fromEntries(
        Object.values(PRESETS).map((p) => [p.proxy, `${p.source} ${p.header} ${p.verification}`]),
      );
      expect(summary).to.deep.equal({
        'azure-container-apps': 'xfcc x-forwarded-client-cert never',
        envoy: 'xfcc x-forwarded-client-cert config',
        istio: 'xfcc x-forwarded-client-cert config',
        nginx: 'url-pem ssl-client-cert header',
        'ingress-nginx': 'url-pem ssl-client-cert header',
        traefik: 'traefik x-forwarded-tls-client-cert config',
        haproxy: 'base64-der x-ssl-client-cert header',
        caddy: 'base64-der x-client-cert config',
        'aws-alb': 'aws-alb x-amzn-mtls-clientcert-leaf always',
        'aws-alb-passthrough': 'aws-alb x-amzn-mtls-clientcert never',
        cloudflare: 'base64-der cf-client-cert-der-base64 header',
        'cloudflare-rfc9440': 'rfc9440 client-cert config',
        'azure-app-service': 'base64-der x-arr-clientcert never',
      });
    });

    it('picks the XFCC element that describes the client: ACA last, Envoy (SANITIZE_SET) only, Istio first', () => {
      expect(PRESETS['azure-container-apps'].xfccElement).to.equal('last');
      expect(PRESETS.envoy.xfccElement).to.equal('only');
      expect(PRESETS.istio.xfccElement).to.equal('first');
    });

    it("uses the proxies' own verification vocabularies", () => {
      expect(PRESETS['ingress-nginx'].verifyHeader).to.deep.equal({
        name: 'ssl-client-verify',
        success: ['SUCCESS'],
        none: ['NONE'],
      });
      expect(PRESETS.nginx.verifyHeader).to.deep.equal(PRESETS['ingress-nginx'].verifyHeader);
      expect(PRESETS.haproxy.verifyHeader).to.deep.equal({ name: 'x-ssl-client-verify', success: ['0'] });
      expect(PRESETS.cloudflare.verifyHeader).to.deep.equal({ name: 'cf-cert-verified', success: ['true'] });
    });
  });

  describe('resolvePreset', () => {
    it('returns the preset by name', () => {
      expect(resolvePreset('istio')).to.equal(PRESETS.istio);
    });

    it('throws invalidOption("proxy") listing the known names, also for Object.prototype names', () => {
      for (const name of ['apache', 'Envoy', '', '__proto__', 'toString', 'constructor', 'x'.repeat(500)]) {
        let error: unknown;
        try {
          resolvePreset(name);
        } catch (e) {
          error = e;
        }
        expect(error, name).to.be.instanceOf(ClientCertError);
        const { code, message } = error as ClientCertError;
        expect(code).to.equal('invalid_option');
        expect(message).to.include('option "proxy"');
        expect(message).to.include('unknown proxy');
        expect(message).to.include('azure-container-apps, envoy, istio');
        expect(message.length).to.be.lessThan(400);
      }
    });
  });

  describe('each non-XFCC preset decodes what its proxy sends', () => {
    function decode(proxy: ProxyName, headers: Record<string, string>): ForwardedCertificate | undefined {
      const options = presetHeaderSource(PRESETS[proxy]);
      expect(options, proxy).to.not.equal(undefined);
      return readHeaderSource(compileHeaderSource(options!), headers);
    }

    function expectClient(
      result: ForwardedCertificate | undefined,
      verdict: ForwardedCertificate['proxyVerdict'],
      chain: Buffer[] = [],
    ): void {
      expect(result).to.not.equal(undefined);
      expect(result!.leaf.equals(client.der)).to.equal(true);
      expect(result!.chain.map(b64)).to.deep.equal(chain.map(b64));
      expect(result!.proxyVerdict).to.equal(verdict);
    }

    it('nginx / ingress-nginx: $ssl_client_escaped_cert with $ssl_client_verify (and the DN headers ingress-nginx always sets)', () => {
      const dns = {
        'ssl-client-subject-dn': rfc2253(client.x509.subject),
        'ssl-client-issuer-dn': rfc2253(client.x509.issuer),
      };
      for (const proxy of ['nginx', 'ingress-nginx'] as const) {
        expectClient(
          decode(proxy, { ...dns, 'ssl-client-cert': nginxEscape(client.cert), 'ssl-client-verify': 'SUCCESS' }),
          'verified',
        );
        expectClient(
          decode(proxy, {
            ...dns,
            'ssl-client-cert': nginxEscape(client.cert),
            'ssl-client-verify': 'FAILED:certificate has expired',
          }),
          'failed',
        );
        expectClient(decode(proxy, { ...dns, 'ssl-client-cert': nginxEscape(client.cert) }), null);
      }
      // nginx sends the DN headers only if configured to; ingress-nginx always does, so without them the certificate is not its.
      expectClient(
        decode('nginx', { 'ssl-client-cert': nginxEscape(client.cert), 'ssl-client-verify': 'SUCCESS' }),
        'verified',
      );
      expect(() =>
        decode('ingress-nginx', { 'ssl-client-cert': nginxEscape(client.cert), 'ssl-client-verify': 'SUCCESS' }),
      )
        .to.throw()
        .with.property('code', 'client_certificate_untrusted');
    });

    it('traefik: the presented chain, comma-joined base64 DER', () => {
      expectClient(
        decode('traefik', { 'x-forwarded-tls-client-cert': [client.der, intermediate.der].map(b64).join(',') }),
        null,
        [intermediate.der],
      );
    });

    it('haproxy: %[ssl_c_der,base64], %[ssl_c_chain_der,base64] and %[ssl_c_verify]', () => {
      const headers = {
        'x-ssl-client-cert': b64(client.der),
        'x-ssl-client-chain': b64(Buffer.concat([intermediate.der, root.der])),
        'x-ssl-client-verify': '0',
      };
      expectClient(decode('haproxy', headers), 'verified', [intermediate.der, root.der]);
      expectClient(decode('haproxy', { ...headers, 'x-ssl-client-verify': '20' }), 'failed', [
        intermediate.der,
        root.der,
      ]);
    });

    it('caddy, azure-app-service, cloudflare: base64 DER of the leaf', () => {
      expectClient(decode('caddy', { 'x-client-cert': b64(client.der) }), null);
      expectClient(decode('azure-app-service', { 'x-arr-clientcert': b64(client.der) }), null);
      const sha256 = { 'cf-client-cert-sha256': client.sha256 };
      expectClient(
        decode('cloudflare', { ...sha256, 'cf-client-cert-der-base64': b64(client.der), 'cf-cert-verified': 'true' }),
        'verified',
      );
      expectClient(
        decode('cloudflare', { ...sha256, 'cf-client-cert-der-base64': b64(client.der), 'cf-cert-verified': 'false' }),
        'failed',
      );
      expect(() => decode('cloudflare', { 'cf-client-cert-der-base64': b64(client.der), 'cf-cert-verified': 'true' }))
        .to.throw()
        .with.property('code', 'client_certificate_untrusted');
    });

    it("cloudflare-rfc9440: Cloudflare's cert_rfc9440 and cert_chain_rfc9440 fields, as its Transform Rule sets them", () => {
      const leaf = `:${b64(client.der)}:`;
      // Cloudflare's chain field is an RFC 8941 list joined with ", " (closest to the leaf first, no root).
      expectClient(decode('cloudflare-rfc9440', { 'client-cert': leaf }), null);
      expectClient(
        decode('cloudflare-rfc9440', { 'client-cert': leaf, 'client-cert-chain': `:${b64(intermediate.der)}:` }),
        null,
        [intermediate.der],
      );
      expectClient(
        decode('cloudflare-rfc9440', {
          'client-cert': leaf,
          'client-cert-chain': `:${b64(intermediate.der)}:, :${b64(root.der)}:`,
        }),
        null,
        [intermediate.der, root.der],
      );
      // A field over Cloudflare's size limit is set as an empty string: no chain, and no certificate.
      expectClient(decode('cloudflare-rfc9440', { 'client-cert': leaf, 'client-cert-chain': '' }), null);
      expect(decode('cloudflare-rfc9440', { 'client-cert': '', 'client-cert-chain': '' })).to.equal(undefined);
      // Cloudflare's own Access headers are another preset's: this one never reads them.
      expect(decode('cloudflare-rfc9440', { 'cf-client-cert-der-base64': b64(client.der) })).to.equal(undefined);
    });

    it('aws-alb (verify mode): the -Leaf header, verified by the ALB; aws-alb-passthrough: the whole chain, unverified', () => {
      const described = {
        'x-amzn-mtls-clientcert-serial-number': client.x509.serialNumber,
        'x-amzn-mtls-clientcert-issuer': rfc2253(client.x509.issuer),
      };
      expectClient(
        decode('aws-alb', { ...described, 'x-amzn-mtls-clientcert-leaf': nginxEscape(client.cert) }),
        'verified',
      );
      expectClient(decode('aws-alb-passthrough', { 'x-amzn-mtls-clientcert': albEscape(client.fullChain) }), null, [
        intermediate.der,
      ]);
      // A passthrough listener never sends -Leaf: the verify preset must not read the passthrough header.
      expect(decode('aws-alb', { 'x-amzn-mtls-clientcert': albEscape(client.fullChain) })).to.equal(undefined);
    });

    it('XFCC presets have no header-source options (they configure the XFCC reader)', () => {
      for (const preset of Object.values(PRESETS) as ProxyPreset[]) {
        if (preset.source === 'xfcc') expect(presetHeaderSource(preset), preset.proxy).to.equal(undefined);
      }
    });
  });

  describe("cloudflare-rfc9440 decides as its verification ('config') says", () => {
    const CLOUDFLARE = '173.245.48.1';
    const headers = (cert: TestCertificate) => ({ 'client-cert': `:${b64(cert.der)}:` });
    async function outcome(
      options: Parameters<typeof createClientCertAuth>[0],
      from: string,
      sent: Record<string, string>,
    ): Promise<string> {
      const auth = createClientCertAuth({
        proxy: 'cloudflare-rfc9440',
        trustProxy: '173.245.48.0/20',
        logger: false,
        ...options,
      });
      const result = await auth.authenticate({ remoteAddress: from, headers: sent });
      if (!result.ok) return `${result.problem.status} ${result.problem.code}`;
      const cert = result.certificate;
      return cert ? `admitted ${cert.subject.rfc4514} ${cert.verifiedBy}` : 'anonymous';
    }

    it('with ca: a client of the CA is admitted from Cloudflare; a self-made certificate is refused', async () => {
      const forged = await createSelfSigned({ subject: 'CN=client' });
      const withCa = { ca: root.cert, intermediates: intermediate.cert };
      expect({
        client: await outcome(withCa, CLOUDFLARE, headers(client)),
        forged: await outcome(withCa, CLOUDFLARE, headers(forged)),
        none: await outcome(withCa, CLOUDFLARE, {}),
      }).to.deep.equal({
        client: 'admitted CN=client chain',
        forged: '403 client_certificate_untrusted',
        none: '403 client_certificate_required',
      });
    });

    it("the proxy's verification counts only when declared (proxyVerified: true), never by default", async () => {
      expect(PRESETS['cloudflare-rfc9440'].proxyVerifies).to.equal(false);
      expect(await outcome({ proxyVerified: true }, CLOUDFLARE, headers(client))).to.equal('admitted CN=client proxy');
      // Without ca, pins or that declaration nobody vouches for the certificate (start-up warns forwarded_untrusted).
      expect(await outcome({}, CLOUDFLARE, headers(client))).to.equal('403 client_certificate_untrusted');
    });

    it('attack: a Client-Cert header from a peer outside trustProxy is ignored, whatever it carries', async () => {
      for (const options of [{ ca: root.cert, intermediates: intermediate.cert }, { proxyVerified: true }]) {
        expect(await outcome(options, '198.51.100.7', headers(client))).to.equal('403 client_certificate_required');
      }
    });
  });

  describe('each XFCC preset selects the element that describes the client', () => {
    it('istio: behind gateway (SANITIZE_SET) + sidecar (APPEND_FORWARD) the client is the first element', async () => {
      const gatewayWorkload = await root.issue({
        subject: 'CN=gw',
        san: { uri: ['spiffe://cluster.local/ns/istio-system/sa/istio-ingressgateway-service-account'] },
      });
      const gatewayElement = envoyXfcc(client, {
        by: ['spiffe://cluster.local/ns/istio-system/sa/istio-ingressgateway-service-account'],
      });
      // The sidecar describes its peer (the gateway) with Subject, URI and DNS only: no Cert.
      const header = envoyXfcc(gatewayWorkload, {
        by: ['spiffe://cluster.local/ns/app/sa/app'],
        details: ['Subject', 'URI', 'DNS'],
        appendTo: gatewayElement,
      });
      const elements = parseXfcc(header);
      expect(elements).to.have.length(2);
      const chosen = selectXfccElement(elements, PRESETS.istio.xfccElement);
      expect(pemToDer(chosen!.cert!).equals(client.der)).to.equal(true);
      expect(selectXfccElement(elements, 'last')!.cert).to.equal(undefined);
    });

    it('envoy: one SANITIZE_SET element is accepted, a second element is refused', () => {
      const one = envoyXfcc(client);
      expect(pemToDer(selectXfccElement(parseXfcc(one), PRESETS.envoy.xfccElement)!.cert!).equals(client.der)).to.equal(
        true,
      );
      expect(() => selectXfccElement(parseXfcc(`${one},${one}`), PRESETS.envoy.xfccElement)).to.throw(ClientCertError);
    });

    it('azure-container-apps: the element ACA writes is read even if a client-sent one precedes it', () => {
      const forged = envoyXfcc(intermediate);
      const aca = envoyXfcc(client, { details: ['Cert', 'Chain'] });
      const chosen = selectXfccElement(parseXfcc(`${forged},${aca}`), PRESETS['azure-container-apps'].xfccElement);
      expect(pemToDer(chosen!.cert!).equals(client.der)).to.equal(true);
    });
  });
});

/** Node's one-attribute-per-line name (DER order) as the RFC 2253 string proxies send (simple names only). */
function rfc2253(nodeName: string): string {
  return nodeName.split('\n').reverse().join(',');
}
