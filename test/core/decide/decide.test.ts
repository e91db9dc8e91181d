import { expect } from 'chai';
import { ALWAYS, asRejection, NEVER, refused, settle, trustRefused } from '../../../packages/core/src/decide/decide.js';
import { ClientCertError } from '../../../packages/core/src/errors.js';

const REQUIRE = { mode: 'require', rejectStatus: 403, problemTypeBase: 'urn:test:' } as const;
const ACCEPT = { ...REQUIRE, mode: 'accept' } as const;

describe('decide/decide', () => {
  describe('settle', () => {
    it('nothing presented: required under require (named by the presence check), anonymous under accept', () => {
      const required = settle(REQUIRE, undefined);
      expect(required.ok).to.equal(false);
      if (required.ok) return;
      expect(required.error.code).to.equal('client_certificate_required');
      expect(required.error.check).to.equal('presence');
      expect(required.problem).to.include({
        status: 403,
        type: 'urn:test:client_certificate_required',
        code: 'client_certificate_required',
      });
      expect(settle(ACCEPT, undefined)).to.deep.equal({ ok: true, certificate: null });
      expect(settle(ACCEPT, { certificate: null, error: null })).to.deep.equal({ ok: true, certificate: null });
    });

    it('a refusal is answered as a problem even under accept: a presented certificate must pass', () => {
      const result = settle(ACCEPT, refused('client_certificate_untrusted', 'Not trusted.', 'trust'));
      expect(result.ok).to.equal(false);
      if (result.ok) return;
      expect(result.problem).to.include({ code: 'client_certificate_untrusted', detail: 'Not trusted.', status: 403 });
      expect(result.problem.instance).to.match(/^urn:uuid:[0-9a-f-]{36}$/);
    });
  });

  describe('asRejection', () => {
    it('keeps a rejection, maps a parser error to malformed with its check, and hides anything else', () => {
      const rejection = new ClientCertError('client_certificate_expired', 'Expired.', { check: 'tls' });
      expect(asRejection(rejection)).to.equal(rejection);
      const xfcc = asRejection(new ClientCertError('xfcc_malformed', 'bad XFCC at 3'));
      expect([xfcc.code, xfcc.check, xfcc.message]).to.deep.equal([
        'client_certificate_malformed',
        'xfcc',
        'bad XFCC at 3',
      ]);
      // An attacker-triggered crash deep in a parser must not leak its message into the problem detail.
      const other = asRejection(new TypeError('secret internals'));
      expect([other.code, other.check]).to.deep.equal(['client_certificate_malformed', 'certificate']);
      expect(other.message).to.not.include('secret');
    });
  });

  describe('trustRefused', () => {
    it('a refusal time can undo is kept a minute; any other holds until evicted', () => {
      const at = new Date('2030-01-01T00:00:00Z');
      const forNow = trustRefused(
        {
          ok: false,
          kind: 'check',
          code: 'not_yet_valid',
          message: 'Not yet.',
          check: 'certificate.not_yet_valid',
          transient: true,
        },
        at,
      );
      expect(forNow.error?.code).to.equal('client_certificate_not_yet_valid');
      expect([forNow.checkFrom, forNow.checkUntil]).to.deep.equal([-Infinity, at.getTime() + 60_000]);
      const kept = trustRefused(
        { ok: false, kind: 'check', code: 'untrusted', message: 'No pin.', check: 'pins', transient: false },
        at,
      );
      expect(kept.error?.code).to.equal('client_certificate_untrusted');
      expect(kept.error?.check).to.equal('pins');
      expect([kept.checkFrom, kept.checkUntil]).to.deep.equal([ALWAYS.checkFrom, ALWAYS.checkUntil]);
      expect(NEVER.checkFrom > NEVER.checkUntil).to.equal(true);
    });
  });
});
