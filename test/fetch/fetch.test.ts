/**
 * @clientcert/fetch: Web `Request` objects decided by the core, with no server: every header
 * source from a trusted peer address, the same header from anyone else ignored, a runtime's TLS
 * peer facts, and the rejection as a problem `Response`.
 */
import { expect } from 'chai';
import { createCA, envoyXfcc, type TestCA, type TestCertificate } from '../../packages/core/src/testkit/index.js';
import {
  type AuthResult,
  authenticateRequest,
  type ClientCertOptions,
  createRequestAuth,
  isClientCertError,
  nodeHeaders,
  problemResponse,
  type RequestConnection,
} from '../../packages/fetch/src/index.js';
import { albEscape, b64, nginxEscape } from '../helpers/encodings.js';

const PROXY = '10.0.0.7';
const STRANGER = '203.0.113.9';

describe('@clientcert/fetch: Web Request', () => {
  let root: TestCA;
  let alice: TestCertificate;
  let mallory: TestCertificate;

  before(async () => {
    root = await createCA({ subject: 'CN=Clients CA' });
    alice = await root.issue({ subject: 'CN=alice,O=Acme' });
    mallory = await (await createCA({ subject: 'CN=Clients CA' })).issue({ subject: 'CN=alice,O=Acme' });
  });

  const base = (extra: ClientCertOptions = {}): ClientCertOptions => ({
    logger: false,
    ca: root.cert,
    trustProxy: PROXY,
    ...extra,
  });

  async function decide(
    options: ClientCertOptions,
    headers: Record<string, string>,
    connection?: RequestConnection,
  ): Promise<AuthResult> {
    const request = new Request('https://app.example/whoami', { headers });
    return await createRequestAuth(options).authenticate(request, connection);
  }

  /** `ok <CN> <source>`, or the problem code. */
  function outcome(result: AuthResult): string {
    if (!result.ok) return result.problem.code;
    const cert = result.certificate;
    return cert === null ? 'ok none' : `ok ${cert.subject.get('CN')} ${cert.source}`;
  }

  /** Each header source as its proxy writes alice's certificate. */
  const sources = (): Array<{
    source: ClientCertOptions['source'];
    header: string;
    value: (c: TestCertificate) => string;
  }> => [
    { source: 'xfcc', header: 'x-forwarded-client-cert', value: (c) => envoyXfcc(c) },
    { source: 'rfc9440', header: 'client-cert', value: (c) => `:${b64(c.der)}:` },
    { source: 'traefik', header: 'x-forwarded-tls-client-cert', value: (c) => b64(c.der) },
    { source: 'url-pem', header: 'ssl-client-cert', value: (c) => nginxEscape(c.cert) },
    { source: 'base64-der', header: 'x-client-cert', value: (c) => b64(c.der) },
    { source: 'aws-alb', header: 'x-amzn-mtls-clientcert', value: (c) => albEscape(c.cert) },
  ];

  for (const { source, header, value } of sources()) {
    describe(`source ${String(source)} (${header})`, () => {
      it('admits the certificate a trusted peer forwards, with its subject', async () => {
        const result = await decide(base({ source }), { [header]: value(alice) }, { remoteAddress: PROXY });
        expect(outcome(result)).to.equal(`ok alice ${source}`);
        expect(result.ok && result.certificate?.subject.rfc4514).to.equal('CN=alice,O=Acme');
      });

      it('ignores the same header from a peer outside trustProxy (attack: forged header)', async () => {
        const result = await decide(base({ source }), { [header]: value(alice) }, { remoteAddress: STRANGER });
        expect(outcome(result)).to.equal('client_certificate_required');
      });

      it('ignores it when the peer address is unknown (no connection given)', async () => {
        expect(outcome(await decide(base({ source }), { [header]: value(alice) }))).to.equal(
          'client_certificate_required',
        );
      });

      it('refuses a foreign certificate with the same subject (attack: look-alike CA)', async () => {
        const result = await decide(base({ source }), { [header]: value(mallory) }, { remoteAddress: PROXY });
        expect(outcome(result)).to.equal('client_certificate_untrusted');
      });
    });
  }

  it('refuses a request without a certificate; mode accept lets it through with null', async () => {
    expect(outcome(await decide(base(), {}, { remoteAddress: PROXY }))).to.equal('client_certificate_required');
    expect(outcome(await decide(base({ mode: 'accept' }), {}, { remoteAddress: PROXY }))).to.equal('ok none');
  });

  it('answers malformed header content with client_certificate_malformed', async () => {
    const result = await decide(
      base({ source: 'rfc9440' }),
      { 'client-cert': ':not base64!:' },
      { remoteAddress: PROXY },
    );
    expect(outcome(result)).to.equal('client_certificate_malformed');
  });

  it('XFCC sent as two lines reaches the core joined: the nearest proxy element decides, or `only` refuses (attack: client-sent element)', async () => {
    const headers = new Headers();
    headers.append('x-forwarded-client-cert', envoyXfcc(mallory)); // what a client sent
    headers.append('x-forwarded-client-cert', envoyXfcc(alice)); // what the proxy added
    const request = new Request('https://app.example/', { headers });
    const last = await createRequestAuth(base({ source: 'xfcc' })).authenticate(request, { remoteAddress: PROXY });
    expect(outcome(last)).to.equal('ok alice xfcc');
    expect(last.ok && last.certificate?.fingerprints.sha256).to.equal(alice.sha256);
    const only = createRequestAuth(base({ source: 'xfcc', xfcc: { element: 'only' } }));
    expect(outcome(await only.authenticate(request, { remoteAddress: PROXY }))).to.equal(
      'client_certificate_malformed',
    );
  });

  describe('TLS peer facts from the runtime', () => {
    it('with ca: admits the presented certificate, verified by the app', async () => {
      const tls = { certificate: alice.cert, authorized: false };
      const result = await decide(base(), {}, { remoteAddress: STRANGER, tls });
      expect(outcome(result)).to.equal('ok alice tls');
      expect(result.ok && result.certificate?.verifiedBy).to.equal('chain');
    });

    it('takes DER bytes and a chain as well', async () => {
      const inter = await root.intermediate({ subject: 'CN=Issuing CA' });
      const bob = await inter.issue({ subject: 'CN=bob' });
      const tls = { certificate: new Uint8Array(bob.der), chain: [inter.cert], authorized: false };
      const result = await decide(base(), {}, { tls });
      expect(outcome(result)).to.equal('ok bob tls');
      expect(result.ok && result.certificate?.chain.length).to.equal(1);
    });

    it('with ca: refuses a foreign certificate whatever the runtime said of it', async () => {
      const tls = { certificate: mallory.cert, authorized: true };
      expect(outcome(await decide(base(), {}, { tls }))).to.equal('client_certificate_untrusted');
    });

    it("without ca or pins: the TLS stack's verdict decides", async () => {
      const options = { logger: false as const };
      const admitted = await decide(options, {}, { tls: { certificate: alice.cert, authorized: true } });
      expect(outcome(admitted)).to.equal('ok alice tls');
      expect(admitted.ok && admitted.certificate?.verifiedBy).to.equal('tls');
      const refused = await decide(options, {}, { tls: { certificate: alice.cert, authorized: false } });
      expect(outcome(refused)).to.equal('client_certificate_untrusted');
    });

    it('a connection without a client certificate is client_certificate_required', async () => {
      expect(outcome(await decide(base(), {}, { tls: { certificate: null, authorized: false } }))).to.equal(
        'client_certificate_required',
      );
    });

    it('a forwarded header on a TLS connection from a stranger is not read (its TLS peer is the client)', async () => {
      const options = base({ source: ['tls', 'xfcc'] });
      const headers = { 'x-forwarded-client-cert': envoyXfcc(alice) };
      const tls = { certificate: null, authorized: false };
      expect(outcome(await decide(options, headers, { remoteAddress: STRANGER, tls }))).to.equal(
        'client_certificate_required',
      );
    });

    it('something that is not a certificate is a typed error naming the field, not a crash', async () => {
      const auth = createRequestAuth(base());
      const request = new Request('https://app.example/');
      let thrown: unknown;
      try {
        await auth.authenticate(request, { tls: { certificate: 'not a certificate', authorized: true } });
      } catch (error) {
        thrown = error;
      }
      expect(isClientCertError(thrown)).to.equal(true);
      expect((thrown as { code: string }).code).to.equal('certificate_malformed');
      expect((thrown as Error).message).to.contain('connection tls.certificate is not a certificate');
    });
  });

  it('authenticateRequest(request, { remoteAddress, auth }) is auth.authenticate', async () => {
    const auth = createRequestAuth(base());
    const request = new Request('https://app.example/', { headers: { 'x-forwarded-client-cert': envoyXfcc(alice) } });
    expect(outcome(await authenticateRequest(request, { remoteAddress: PROXY, auth }))).to.equal('ok alice xfcc');
  });

  it('something that is not a Request is answered as a request without a certificate', async () => {
    const auth = createRequestAuth(base());
    const notARequest = {} as Request;
    expect(outcome(await auth.authenticate(notARequest, { remoteAddress: PROXY }))).to.equal(
      'client_certificate_required',
    );
    const noConnection = null as unknown as RequestConnection; // from JavaScript
    expect(outcome(await auth.authenticate(new Request('https://app.example/'), noConnection))).to.equal(
      'client_certificate_required',
    );
  });

  it('problemResponse: the status, problem+json, no-store, and exactly the core problem as body', async () => {
    const result = await decide(base({ rejectStatus: 401 }), {}, { remoteAddress: PROXY });
    if (result.ok) throw new Error('expected a rejection');
    const response = problemResponse(result);
    expect(response.status).to.equal(401);
    expect(response.headers.get('content-type')).to.equal('application/problem+json');
    expect(response.headers.get('cache-control')).to.equal('no-store');
    const body = (await response.json()) as Record<string, unknown>;
    expect(body).to.deep.equal(result.problem);
    expect(Object.keys(body).sort()).to.deep.equal(['code', 'detail', 'instance', 'status', 'title', 'type']);
    expect(body.code).to.equal('client_certificate_required');
  });

  it('nodeHeaders: lower-case names, repeated values joined with ", " as Node joins them', () => {
    const headers = new Headers();
    headers.append('X-Client-Cert', 'a');
    headers.append('x-client-cert', 'b');
    headers.append('Host', 'app.example');
    expect(nodeHeaders(headers)).to.deep.equal({ 'x-client-cert': 'a, b', host: 'app.example' });
  });
});
