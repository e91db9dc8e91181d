import { expect } from 'chai';
import {
  ATTRIBUTE_TYPES,
  DOTNET_NAMES,
  MODEL_NAMES,
  NAME_ALIASES,
  OPENSSL_NAMES,
  OPENSSL_SHORT_NAMES,
  RFC4514_TYPES,
} from '../../../packages/core/src/x509/attributes.js';

describe('core/x509/attributes', () => {
  it('has one row per attribute type', () => {
    const oids = ATTRIBUTE_TYPES.map((row) => row.oid);
    expect(new Set(oids).size).to.equal(oids.length);
  });

  it('keeps the vocabularies apart where they deliberately differ: STREET in RFC 4514, street in OpenSSL', () => {
    expect(MODEL_NAMES.get('2.5.4.9')).to.equal('STREET');
    expect(OPENSSL_SHORT_NAMES.get('2.5.4.9')).to.equal('street');
    expect(RFC4514_TYPES.has('2.5.4.9')).to.equal(true);
    // organizationIdentifier: named by the model, printed by OID by BoringSSL-compatible output.
    expect(MODEL_NAMES.get('2.5.4.97')).to.equal('organizationIdentifier');
    expect(OPENSSL_SHORT_NAMES.has('2.5.4.97')).to.equal(false);
  });

  it('name lookups are lower-case and never map one name to two OIDs', () => {
    const seen = new Map<string, string>();
    for (const map of [NAME_ALIASES, DOTNET_NAMES, OPENSSL_NAMES]) {
      for (const [name, oid] of map) {
        expect(name).to.equal(name.toLowerCase());
        if (seen.has(name)) expect(seen.get(name), name).to.equal(oid);
        seen.set(name, oid);
      }
    }
    expect(NAME_ALIASES.get('cn')).to.equal('2.5.4.3');
    expect(NAME_ALIASES.get('streetaddress')).to.equal('2.5.4.9');
    expect(DOTNET_NAMES.get('s')).to.equal('2.5.4.8');
    expect(OPENSSL_NAMES.get('mobile')).to.equal('0.9.2342.19200300.100.1.41');
  });
});
