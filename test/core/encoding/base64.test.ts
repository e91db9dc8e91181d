import { expect } from 'chai';
import { type Base64Form, decodeBase64, isStrictBase64 } from '../../../packages/core/src/encoding/base64.js';

/** The failure as data, so each case asserts what was refused and where. */
function refusal(text: string, form: Base64Form): [string, number | null] | Buffer {
  try {
    return decodeBase64(text, 0, text.length, form, (message, position) => {
      throw Object.assign(new Error(message), { position });
    });
  } catch (error) {
    return [(error as Error).message, (error as { position: number | null }).position];
  }
}

describe('core/encoding/base64', () => {
  it('decodes the standard alphabet in every form', () => {
    for (const form of ['padded', 'structured-field', 'pem-body'] as const) {
      expect(refusal('aGk+Lw==', form)).to.deep.equal(Buffer.from('hi>/'));
    }
  });

  it('padded: refuses what Buffer.from would silently accept', () => {
    expect(Buffer.from('aGk-Lw==', 'base64')).to.deep.equal(Buffer.from('hi>/')); // why strictness matters
    expect(refusal('aGk-Lw==', 'padded')).to.deep.equal(['invalid base64 character', 3]);
    expect(refusal('aGk_Lw==', 'padded')).to.deep.equal(['invalid base64 character', 3]);
    expect(refusal('aG=k', 'padded')).to.deep.equal(['base64 padding before the end', 3]);
    expect(refusal('aGk', 'padded')).to.deep.equal(['base64 length is not a multiple of 4', 0]);
    expect(refusal('aGk+ Lw==', 'padded')).to.deep.equal(['invalid base64 character', 4]);
    expect(refusal('a===', 'padded')).to.deep.equal(['invalid base64 padding', 1]);
    expect(refusal('', 'padded')).to.deep.equal(['empty base64', 0]);
  });

  it('structured-field (RFC 8941): padding may be left out, but not one character too few', () => {
    expect(refusal('aGk', 'structured-field')).to.deep.equal(Buffer.from('hi'));
    expect(refusal('aGk+L', 'structured-field')).to.deep.equal(['truncated base64', 0]);
    expect(refusal('aGk=', 'structured-field')).to.deep.equal(Buffer.from('hi'));
    expect(refusal('aG=', 'structured-field')).to.deep.equal(['base64 length is not a multiple of 4', 0]);
  });

  it('pem-body: whitespace anywhere, the rest as strict as padded', () => {
    expect(refusal(' aGk+\r\n\tLw==\n', 'pem-body')).to.deep.equal(Buffer.from('hi>/'));
    expect(refusal('aGk+\nLw=\n=', 'pem-body')).to.deep.equal(Buffer.from('hi>/'));
    expect(refusal('aGk-Lw==', 'pem-body')).to.deep.equal(['invalid base64 in PEM', 3]);
    expect(refusal('aG==Lw==', 'pem-body')).to.deep.equal(['invalid base64 in PEM', 4]);
    expect(refusal('aGk+L', 'pem-body')).to.deep.equal(['invalid base64 length in PEM', 0]);
    expect(refusal(' \n ', 'pem-body')).to.deep.equal(['invalid base64 length in PEM', 0]);
  });

  it('positions are offsets in the text, for a range inside it', () => {
    const text = 'x: aGk-Lw== ;';
    expect(() =>
      decodeBase64(text, 3, 11, 'padded', (message, position) => {
        throw new Error(`${message} at ${position}`);
      }),
    ).to.throw('invalid base64 character at 6');
  });

  it('isStrictBase64 answers without throwing', () => {
    expect(isStrictBase64('aGk+Lw==')).to.equal(true);
    expect(isStrictBase64('aGk-Lw==')).to.equal(false);
    expect(isStrictBase64('aGk', 'structured-field')).to.equal(true);
    expect(isStrictBase64('aGk')).to.equal(false);
  });
});
