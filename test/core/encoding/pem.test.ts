import { expect } from 'chai';
import { looksLikePem, type PemOptions, readPem, writePem } from '../../../packages/core/src/encoding/pem.js';

const ONE = writePem(Buffer.from('one'), 'CERTIFICATE');
const TWO = writePem(Buffer.from('two'), 'CERTIFICATE');
const KEY = writePem(Buffer.from('key'), 'PRIVATE KEY');

const FILE: PemOptions = { mode: 'file', label: ['CERTIFICATE', 'X509 CERTIFICATE'] };
const HEADER: PemOptions = { mode: 'header', label: 'CERTIFICATE', max: 2 };

function read(text: string, options: PemOptions): string[] | [string, number | null] {
  try {
    return readPem(text, options, (message, position) => {
      throw Object.assign(new Error(message), { position });
    }).map((block) => `${block.label}:${block.der.toString()}`);
  } catch (error) {
    return [(error as Error).message, (error as { position: number | null }).position];
  }
}

describe('core/encoding/pem', () => {
  it('writes 64 columns with LF and a trailing newline', () => {
    const pem = writePem(Buffer.alloc(100, 1), 'CERTIFICATE');
    const lines = pem.split('\n');
    expect(lines[0]).to.equal('-----BEGIN CERTIFICATE-----');
    expect(lines[1]).to.have.length(64);
    expect(pem.endsWith('-----END CERTIFICATE-----\n')).to.equal(true);
  });

  it('file mode: explanatory text and other labels are skipped, not refused', () => {
    const bundle = `subject=CN=one\n${ONE}\n${KEY}# comment\n${TWO}trailing`;
    expect(read(bundle, FILE)).to.deep.equal(['CERTIFICATE:one', 'CERTIFICATE:two']);
    expect(read(ONE.replaceAll('CERTIFICATE', 'X509 CERTIFICATE'), FILE)).to.deep.equal(['X509 CERTIFICATE:one']);
    expect(read('no pem here', FILE)).to.deep.equal([]);
  });

  it('file mode: a skipped block is still checked, and an unclosed block is malformed', () => {
    expect(read(`${ONE}${KEY.replace('a2V5', 'a2-5')}`, FILE)[0]).to.equal('invalid base64 in PEM');
    expect(read(ONE.replace('-----END CERTIFICATE-----', ''), FILE)).to.deep.equal([
      'PEM block without an END line',
      0,
    ]);
    expect(read(`-----BEGIN ${'X'.repeat(65)}-----`, FILE)[0]).to.equal('invalid PEM header line');
    expect(read('-----BEGIN CERT\u00e9-----', FILE)[0]).to.equal('invalid PEM header line');
  });

  it('header mode: blocks and whitespace only, so two joined header values are refused', () => {
    expect(read(` ${ONE}\n${TWO} `, HEADER)).to.deep.equal(['CERTIFICATE:one', 'CERTIFICATE:two']);
    expect(read(ONE.replaceAll('\n', ' '), HEADER)).to.deep.equal(['CERTIFICATE:one']);
    // Node joins repeated header lines with ", ": legal text between blocks in a file, refused here.
    expect(read(`${ONE}, ${TWO}`, HEADER)).to.deep.equal(['expected a "-----BEGIN CERTIFICATE-----" line', ONE.length]);
    expect(read(`x${ONE}`, HEADER)).to.deep.equal(['expected a "-----BEGIN CERTIFICATE-----" line', 0]);
    expect(read(KEY, HEADER)).to.deep.equal(['expected a "-----BEGIN CERTIFICATE-----" line', 0]);
    expect(read(`${ONE}${TWO}${ONE}`, HEADER)).to.deep.equal(['more than 2 certificate(s)', null]);
  });

  it('onBlock sees each block before the next is read, so the first problem is the one reported', () => {
    const seen: string[] = [];
    const text = `${ONE}${TWO}-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n`;
    expect(() =>
      readPem(
        text,
        {
          ...HEADER,
          max: 5,
          onBlock: (der, index) => {
            seen.push(`${index}:${der.toString()}`);
            if (index === 1) throw new Error('second block refused');
          },
        },
        () => {
          throw new Error('not reached');
        },
      ),
    ).to.throw('second block refused');
    expect(seen).to.deep.equal(['0:one', '1:two']);
  });

  it('looksLikePem: -----BEGIN after optional whitespace', () => {
    expect(looksLikePem(Buffer.from(` \r\n${ONE}`))).to.equal(true);
    expect(looksLikePem(Buffer.from([0x30, 0x82, 0x01]))).to.equal(false);
    expect(looksLikePem(Buffer.from('-----BEGI'))).to.equal(false);
  });
});
