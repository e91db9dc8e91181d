import { expect } from 'chai';
import {
  type ClientCertOptions,
  createClientCertAuth,
  DEFAULT_TRUST_PROXY,
  type Logger,
} from '../../../packages/core/src/index.js';
import { compileTrustProxy } from '../../../packages/core/src/sources/proxy-trust.js';

function constructionError(options: unknown): { code: string; message: string } {
  try {
    createClientCertAuth(options as ClientCertOptions);
  } catch (error) {
    return error as { code: string; message: string };
  }
  throw new Error('expected construction to fail');
}

describe('options', () => {
  const quiet = { logger: false } as const;

  for (const [option, value] of [
    ['mode', 'sometimes'],
    ['source', 'carrier-pigeon'],
    ['source', []],
    ['ca', 'not a certificate'],
    ['ca', Buffer.from('garbage')],
    ['trustProxy', 'not-an-address'],
    ['clockTolerance', -1],
    ['rejectStatus', 500],
    ['clock', 'now'],
    ['xfcc', { element: 'middle' }],
    ['xfcc', { header: 'bad header' }],
    ['purpose', 'shipping'],
    ['colour', 'blue'],
  ] as const) {
    it(`rejects ${option}: ${JSON.stringify(value)} at construction, naming the option`, () => {
      const error = constructionError({ ...quiet, [option]: value });
      expect(error.code).to.equal('invalid_option');
      expect(error.message).to.include(`"${option}`);
    });
  }

  for (const [mode, meant] of [
    ['required', 'require'],
    ['Require', 'require'],
    ['accepted', 'accept'],
    ['optional', 'accept'],
    ['on', 'require'],
    ['off', 'ignore'],
    ['ign', 'ignore'],
  ] as const) {
    it(`mode ${JSON.stringify(mode)} is refused naming the mode that was meant (${meant}), never taken for it`, () => {
      const error = constructionError({ ...quiet, mode });
      expect(error.code).to.equal('invalid_option');
      expect(error.message).to.equal(
        `clientcert: option "mode" must be one of require, accept, ignore: "${mode}" is not one (did you mean '${meant}'?)`,
      );
    });
  }

  it('a mode that resembles none, or is no string, gets the plain list (and a value that could break a log line is escaped)', () => {
    for (const mode of ['sometimes', 'constructor', '__proto__', 42]) {
      expect(constructionError({ ...quiet, mode }).message).to.equal(
        'clientcert: option "mode" must be one of require, accept, ignore',
      );
    }
    expect(constructionError({ ...quiet, mode: 'required\n"x' }).message).to.include('"required\\x0a\\"x" is not one');
  });

  it('the default trustProxy is loopback, private networks and the shared address space, never public addresses', () => {
    // Loopback only: a private network holds every other pod, VPN node and peered host.
    expect(DEFAULT_TRUST_PROXY).to.deep.equal(['loopback']);
    const trust = compileTrustProxy(DEFAULT_TRUST_PROXY).fn;
    for (const address of ['127.0.0.1', '127.0.0.6', '::1', '::ffff:127.0.0.1']) {
      expect(trust(address, 0), address).to.equal(true);
    }
    for (const address of [
      '10.1.2.3',
      '172.16.0.9',
      '192.168.1.1',
      'fd00::2',
      '100.100.0.7',
      '8.8.8.8',
      '203.0.113.9',
      '172.32.0.1',
      '100.128.0.1',
      '2001:db8::1',
      '::ffff:8.8.8.8',
      '::ffff:10.0.0.1',
    ]) {
      expect(trust(address, 0), address).to.equal(false);
    }
  });

  it('trustProxy false trusts no peer; a comma-separated string is a list', () => {
    expect(compileTrustProxy(false).fn('127.0.0.1', 0)).to.equal(false);
    const list = compileTrustProxy('10.0.0.1, 192.168.0.0/24').fn;
    expect([list('10.0.0.1', 0), list('192.168.0.77', 0), list('10.0.0.2', 0)]).to.deep.equal([true, true, false]);
  });

  it('reports the trust model at start-up in one line; with auto, warns about untrustable forwarded certificates at the first plain-HTTP request only', () => {
    const lines: string[] = [];
    const logger: Logger = { info: (m) => lines.push(`info ${m}`), warn: (m) => lines.push(`warn ${m}`) };
    const auth = createClientCertAuth({ logger });
    expect(lines).to.deep.equal([
      'info clientcert: mode require; certificate from the TLS connection on TLS connections (its peer is the client), else ' +
        'x-forwarded-client-cert; forwarded headers trusted from loopback (default: a proxy on this host); trust: the TLS stack ' +
        'for TLS connections (for its server name only: with several names, a resumed session or a request for another host is ' +
        'refused); none for forwarded certificates (no ca, pins or proxy verification: they are refused); who can ' +
        'mint an identity: a TLS client holding the private key of a certificate that the TLS stack verified',
    ]);
    // A direct-mTLS server never reads the header: nothing to warn about. A plain-HTTP request is where it would.
    auth.authenticate({ socket: { remoteAddress: '127.0.0.1', encrypted: false } as never, headers: {} });
    auth.authenticate({ socket: { remoteAddress: '127.0.0.1', encrypted: false } as never, headers: {} });
    expect(lines.slice(1)).to.deep.equal([
      "warn clientcert: forwarded client certificates will be rejected as untrusted: set `ca` (the CA that issues your clients' " +
        'certificates) or `pins` (warning forwarded_untrusted; see ' +
        'https://github.com/clientcert/clientcert/blob/main/packages/core/README.md#forwarded_untrusted)',
      // The refusal itself, once a minute per peer.
      'warn clientcert: rejected a request: client_certificate_required, no client certificate from x-forwarded-client-cert, ' +
        'peer 127.0.0.1; logged at most once a minute per peer (warning request_rejected; see ' +
        'https://github.com/clientcert/clientcert/blob/main/packages/core/README.md#request_rejected)',
    ]);
  });

  it('ignore mode reads nothing', () => {
    const auth = createClientCertAuth({ ...quiet, mode: 'ignore' });
    expect(
      auth.authenticate({ socket: {} as never, headers: { 'x-forwarded-client-cert': 'garbage"' } }),
    ).to.deep.equal({ ok: true, certificate: null });
  });
});

describe('options: revocation', () => {
  it('revocation needs ca: it is checked along the chain verified to the trust anchors', async () => {
    const { createCA, createCrl } = await import('../../../packages/core/src/testkit/index.js');
    const root = await createCA();
    const crl = await createCrl(root);
    expect(() => createClientCertAuth({ logger: false, ca: root.cert, revocation: { crls: crl.der } })).not.to.throw();
    const error = constructionError({ logger: false, revocation: { crls: crl.der } });
    expect(error.code).to.equal('invalid_option');
    expect(error.message).to.include('"revocation"');
  });
});

describe('a PEM pasted with \\n as two characters (an environment variable, a JSON string)', () => {
  it('ca and intermediates are refused with the fix named', async () => {
    const { createCA } = await import('../../../packages/core/src/testkit/index.js');
    const root = await createCA();
    const issuing = await root.intermediate();
    const flattened = (pem: string) => pem.replace(/\n/g, '\\n');
    const hint =
      'the text has \\n as two characters instead of line breaks (a PEM pasted into an environment variable?)';
    expect(() => createClientCertAuth({ logger: false, ca: flattened(root.cert) }))
      .to.throw(/^clientcert: option "ca" could not be read: /)
      .with.property('message')
      .that.includes(hint)
      .and.includes("value.replaceAll('\\\\n', '\\n')");
    expect(() => createClientCertAuth({ logger: false, ca: root.cert, intermediates: [flattened(issuing.cert)] }))
      .to.throw(/^clientcert: option "intermediates" could not be read: /)
      .with.property('message')
      .that.includes(hint);
    // Line breaks as they should be: accepted, no hint anywhere.
    expect(createClientCertAuth({ logger: false, ca: root.cert, intermediates: issuing.cert }).describe()).to.include(
      '1 trust anchor',
    );
  });
});
