import { expect } from 'chai';
import { type PercentForm, percentDecode } from '../../../packages/core/src/encoding/percent.js';

const PEM_TEXT: PercentForm = { output: 'latin1', bytes: 'pem-text' };
const ANY_LATIN1: PercentForm = { output: 'latin1', bytes: 'any' };
const UTF8: PercentForm = { output: 'utf8', bytes: 'any' };

function decode(text: string, form: PercentForm): string | [string, number | null] {
  try {
    return percentDecode(text, 0, text.length, form, (message, position) => {
      throw Object.assign(new Error(message), { position });
    });
  } catch (error) {
    return [(error as Error).message, (error as { position: number | null }).position];
  }
}

describe('core/encoding/percent', () => {
  it('has no form semantics: + stays +, in every form', () => {
    for (const form of [PEM_TEXT, ANY_LATIN1, UTF8]) expect(decode('a+b%2Bc', form)).to.equal('a+b+c');
  });

  it('returns text without % as it is, and decodes either hex case', () => {
    const text = '-----BEGIN CERTIFICATE-----';
    expect(decode(text, PEM_TEXT)).to.equal(text);
    expect(decode('%0a%0A%3d', PEM_TEXT)).to.equal('\n\n=');
  });

  it('refuses a % without two hex digits, at the %', () => {
    for (const form of [PEM_TEXT, ANY_LATIN1, UTF8]) {
      expect(decode('ab%4', form)).to.deep.equal(['invalid percent-encoding', 2]);
      expect(decode('ab%zz', form)).to.deep.equal(['invalid percent-encoding', 2]);
      expect(decode('%', form)).to.deep.equal(['invalid percent-encoding', 0]);
    }
  });

  it('pem-text: only printable ASCII and PEM whitespace may be escaped', () => {
    expect(decode('a%0D%0A%09b', PEM_TEXT)).to.equal('a\r\n\tb');
    expect(decode('a%00b', PEM_TEXT)).to.deep.equal(['percent-encoded control or non-ASCII byte', 1]);
    expect(decode('a%C3%A9', PEM_TEXT)).to.deep.equal(['percent-encoded control or non-ASCII byte', 1]);
    expect(decode('a%00b', ANY_LATIN1)).to.equal('a\u0000b');
  });

  it('utf8: decodeURIComponent rules, checked per run of escapes', () => {
    for (const text of ['%C3%A9t%C3%A9', '%F0%9F%98%80', 'plain', '%EF%BB%BFbom', 'a%2Fb%3D']) {
      expect(decode(text, UTF8)).to.equal(decodeURIComponent(text));
    }
    for (const text of ['%C3', '%C3x%A9', '%C0%AF', '%ED%A0%80', '%80']) {
      expect(() => decodeURIComponent(text)).to.throw(URIError);
      expect(decode(text, UTF8)).to.deep.equal(['invalid UTF-8 in percent-encoding', 0]);
    }
  });

  it('reads only the range it is given', () => {
    const text = '%41;%42;%43';
    expect(percentDecode(text, 4, 7, ANY_LATIN1, () => undefined as never)).to.equal('B');
  });
});
