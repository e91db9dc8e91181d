/**
 * Regression tests for bugs the hardening work found, each named after its bug.
 */
import { expect } from 'chai';
import { formatXfcc, parseXfcc } from '../../packages/core/src/sources/xfcc.js';
import { expectClientCertError } from '../helpers/errors.js';

describe('hardening regressions', () => {
  it('formatXfcc refuses a Cert or Chain with a lone surrogate instead of writing U+FFFD (round trip broke)', () => {
    // parseXfcc returns such a Cert for a header holding a lone surrogate; formatting it used to
    // percent-encode U+FFFD, so parse(format(x)) differed from x.
    const [element] = parseXfcc('Cert="abc\udc00def"');
    expect(element!.cert).to.equal('abc\udc00def');
    expectClientCertError(() => formatXfcc([element!]), 'xfcc_malformed');
    expectClientCertError(() => formatXfcc([{ chain: ['\ud800'] }]), 'xfcc_malformed');
    // A surrogate pair is a character like any other and still round-trips.
    const emoji = parseXfcc(formatXfcc([{ cert: 'x😀y' }]));
    expect(emoji[0]!.cert).to.equal('x😀y');
  });
});
