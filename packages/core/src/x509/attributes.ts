/**
 * Distinguished-name attribute types: ONE row per attribute, and a column for each vocabulary a
 * consumer needs. Where two vocabularies spell an attribute differently, the difference is here,
 * side by side, and deliberate:
 *
 * - `model`: `NameAttribute.type` in the certificate model (upper-case `STREET`, as RFC 4514
 *   writes it), and a name `get`/`getAll` accept. null: the model gives the dotted OID.
 * - `rfc4514`: in RFC 4514's §3 table, so written by name with a string value in `rfc4514`;
 *   every other type is written as a dotted OID with a `#hex` BER value (§2.3, §2.4).
 * - `openssl`: the short name both OpenSSL and BoringSSL print (`OBJ_nid2sn`; lower-case
 *   `street`), what the forwarder's `Subject` prints. null: printed as the dotted OID with a `#hex`
 *   DER value; for the rare type Envoy's BoringSSL knows and this column does not, that is
 *   where the forwarder and Envoy differ.
 * - `aliases`: further names (lower-case) a DN string or `get` may use: the RFC 4519 long forms.
 * - `opensslNames`: names (lower-case) OpenSSL writes with `XN_FLAG_FN_SN` for types the columns
 *   above do not name, accepted only where a DN was written by OpenSSL (a proxy's DN header).
 * - `dotnet`: the one-letter name .NET's `X500DistinguishedName` writes, accepted in DN rules.
 */

export interface AttributeType {
  readonly oid: string;
  readonly model: string | null;
  readonly rfc4514: boolean;
  readonly openssl: string | null;
  readonly aliases?: readonly string[];
  readonly opensslNames?: readonly string[];
  readonly dotnet?: string;
}

export const ATTRIBUTE_TYPES: readonly AttributeType[] = Object.freeze([
  { oid: '2.5.4.3', model: 'CN', rfc4514: true, openssl: 'CN', aliases: ['commonname'] },
  { oid: '2.5.4.4', model: 'SN', rfc4514: false, openssl: 'SN', aliases: ['surname'] },
  { oid: '2.5.4.5', model: 'serialNumber', rfc4514: false, openssl: 'serialNumber' },
  { oid: '2.5.4.6', model: 'C', rfc4514: true, openssl: 'C', aliases: ['countryname'] },
  { oid: '2.5.4.7', model: 'L', rfc4514: true, openssl: 'L', aliases: ['localityname'] },
  { oid: '2.5.4.8', model: 'ST', rfc4514: true, openssl: 'ST', aliases: ['stateorprovincename'], dotnet: 'S' },
  { oid: '2.5.4.9', model: 'STREET', rfc4514: true, openssl: 'street', aliases: ['streetaddress'] },
  { oid: '2.5.4.10', model: 'O', rfc4514: true, openssl: 'O', aliases: ['organizationname'] },
  { oid: '2.5.4.11', model: 'OU', rfc4514: true, openssl: 'OU', aliases: ['organizationalunitname'] },
  { oid: '2.5.4.12', model: 'title', rfc4514: false, openssl: 'title', dotnet: 'T' },
  { oid: '2.5.4.15', model: 'businessCategory', rfc4514: false, openssl: 'businessCategory' },
  { oid: '2.5.4.17', model: 'postalCode', rfc4514: false, openssl: 'postalCode' },
  { oid: '2.5.4.42', model: 'GN', rfc4514: false, openssl: 'GN', aliases: ['givenname'], dotnet: 'G' },
  { oid: '2.5.4.43', model: 'initials', rfc4514: false, openssl: 'initials', dotnet: 'I' },
  { oid: '2.5.4.44', model: 'generationQualifier', rfc4514: false, openssl: 'generationQualifier' },
  { oid: '2.5.4.46', model: 'dnQualifier', rfc4514: false, openssl: 'dnQualifier' },
  { oid: '2.5.4.65', model: 'pseudonym', rfc4514: false, openssl: 'pseudonym' },
  { oid: '2.5.4.97', model: 'organizationIdentifier', rfc4514: false, openssl: null },
  { oid: '0.9.2342.19200300.100.1.25', model: 'DC', rfc4514: true, openssl: 'DC', aliases: ['domaincomponent'] },
  { oid: '0.9.2342.19200300.100.1.1', model: 'UID', rfc4514: true, openssl: 'UID', aliases: ['userid'] },
  {
    oid: '1.2.840.113549.1.9.1',
    model: 'emailAddress',
    rfc4514: false,
    openssl: 'emailAddress',
    aliases: ['email'],
    dotnet: 'E',
  },
  { oid: '2.5.4.13', model: null, rfc4514: false, openssl: 'description', opensslNames: ['description'] },
  { oid: '2.5.4.16', model: null, rfc4514: false, openssl: 'postalAddress', opensslNames: ['postaladdress'] },
  { oid: '2.5.4.18', model: null, rfc4514: false, openssl: 'postOfficeBox', opensslNames: ['postofficebox'] },
  {
    oid: '2.5.4.19',
    model: null,
    rfc4514: false,
    openssl: 'physicalDeliveryOfficeName',
    opensslNames: ['physicaldeliveryofficename'],
  },
  { oid: '2.5.4.20', model: null, rfc4514: false, openssl: 'telephoneNumber', opensslNames: ['telephonenumber'] },
  { oid: '2.5.4.41', model: null, rfc4514: false, openssl: 'name', opensslNames: ['name'] },
  {
    oid: '2.5.4.45',
    model: null,
    rfc4514: false,
    openssl: 'x500UniqueIdentifier',
    opensslNames: ['x500uniqueidentifier'],
  },
  { oid: '2.5.4.72', model: null, rfc4514: false, openssl: 'role', opensslNames: ['role'] },
  {
    oid: '1.2.840.113549.1.9.2',
    model: null,
    rfc4514: false,
    openssl: 'unstructuredName',
    opensslNames: ['unstructuredname'],
  },
  {
    oid: '1.2.840.113549.1.9.8',
    model: null,
    rfc4514: false,
    openssl: 'unstructuredAddress',
    opensslNames: ['unstructuredaddress'],
  },
  { oid: '2.5.4.21', model: null, rfc4514: false, openssl: null, opensslNames: ['telexnumber'] },
  { oid: '2.5.4.23', model: null, rfc4514: false, openssl: null, opensslNames: ['facsimiletelephonenumber'] },
  { oid: '2.5.4.24', model: null, rfc4514: false, openssl: null, opensslNames: ['x121address'] },
  { oid: '2.5.4.25', model: null, rfc4514: false, openssl: null, opensslNames: ['internationalisdnnumber'] },
  { oid: '2.5.4.26', model: null, rfc4514: false, openssl: null, opensslNames: ['registeredaddress'] },
  { oid: '2.5.4.27', model: null, rfc4514: false, openssl: null, opensslNames: ['destinationindicator'] },
  { oid: '2.5.4.31', model: null, rfc4514: false, openssl: null, opensslNames: ['member'] },
  { oid: '2.5.4.32', model: null, rfc4514: false, openssl: null, opensslNames: ['owner'] },
  { oid: '2.5.4.33', model: null, rfc4514: false, openssl: null, opensslNames: ['roleoccupant'] },
  { oid: '2.5.4.34', model: null, rfc4514: false, openssl: null, opensslNames: ['seealso'] },
  { oid: '2.5.4.51', model: null, rfc4514: false, openssl: null, opensslNames: ['houseidentifier'] },
  { oid: '2.5.4.54', model: null, rfc4514: false, openssl: null, opensslNames: ['dmdname'] },
  { oid: '2.5.4.98', model: null, rfc4514: false, openssl: null, opensslNames: ['c3'] },
  { oid: '2.5.4.99', model: null, rfc4514: false, openssl: null, opensslNames: ['n3'] },
  { oid: '2.5.4.100', model: null, rfc4514: false, openssl: null, opensslNames: ['dnsname'] },
  { oid: '1.2.840.113549.1.9.7', model: null, rfc4514: false, openssl: null, opensslNames: ['challengepassword'] },
  { oid: '0.9.2342.19200300.100.1.3', model: null, rfc4514: false, openssl: null, opensslNames: ['mail'] },
  { oid: '0.9.2342.19200300.100.1.4', model: null, rfc4514: false, openssl: null, opensslNames: ['info'] },
  { oid: '0.9.2342.19200300.100.1.6', model: null, rfc4514: false, openssl: null, opensslNames: ['roomnumber'] },
  { oid: '0.9.2342.19200300.100.1.8', model: null, rfc4514: false, openssl: null, opensslNames: ['userclass'] },
  { oid: '0.9.2342.19200300.100.1.9', model: null, rfc4514: false, openssl: null, opensslNames: ['host'] },
  { oid: '0.9.2342.19200300.100.1.10', model: null, rfc4514: false, openssl: null, opensslNames: ['manager'] },
  {
    oid: '0.9.2342.19200300.100.1.20',
    model: null,
    rfc4514: false,
    openssl: null,
    opensslNames: ['homephone', 'hometelephonenumber'],
  },
  { oid: '0.9.2342.19200300.100.1.21', model: null, rfc4514: false, openssl: null, opensslNames: ['secretary'] },
  { oid: '0.9.2342.19200300.100.1.22', model: null, rfc4514: false, openssl: null, opensslNames: ['othermailbox'] },
  { oid: '0.9.2342.19200300.100.1.37', model: null, rfc4514: false, openssl: null, opensslNames: ['associateddomain'] },
  { oid: '0.9.2342.19200300.100.1.38', model: null, rfc4514: false, openssl: null, opensslNames: ['associatedname'] },
  {
    oid: '0.9.2342.19200300.100.1.39',
    model: null,
    rfc4514: false,
    openssl: null,
    opensslNames: ['homepostaladdress'],
  },
  { oid: '0.9.2342.19200300.100.1.40', model: null, rfc4514: false, openssl: null, opensslNames: ['personaltitle'] },
  {
    oid: '0.9.2342.19200300.100.1.41',
    model: null,
    rfc4514: false,
    openssl: null,
    opensslNames: ['mobile', 'mobiletelephonenumber'],
  },
  {
    oid: '0.9.2342.19200300.100.1.42',
    model: null,
    rfc4514: false,
    openssl: null,
    opensslNames: ['pager', 'pagertelephonenumber'],
  },
  { oid: '1.3.6.1.4.1.311.60.2.1.1', model: null, rfc4514: false, openssl: null, opensslNames: ['jurisdictionl'] },
  { oid: '1.3.6.1.4.1.311.60.2.1.2', model: null, rfc4514: false, openssl: null, opensslNames: ['jurisdictionst'] },
  { oid: '1.3.6.1.4.1.311.60.2.1.3', model: null, rfc4514: false, openssl: null, opensslNames: ['jurisdictionc'] },
  { oid: '1.3.6.1.5.5.7.9.1', model: null, rfc4514: false, openssl: null, opensslNames: ['dateofbirth'] },
  { oid: '1.3.6.1.5.5.7.9.2', model: null, rfc4514: false, openssl: null, opensslNames: ['placeofbirth'] },
  { oid: '1.3.6.1.5.5.7.9.3', model: null, rfc4514: false, openssl: null, opensslNames: ['gender'] },
  { oid: '1.3.6.1.5.5.7.9.4', model: null, rfc4514: false, openssl: null, opensslNames: ['countryofcitizenship'] },
  { oid: '1.3.6.1.5.5.7.9.5', model: null, rfc4514: false, openssl: null, opensslNames: ['countryofresidence'] },
  { oid: '1.2.643.3.131.1.1', model: null, rfc4514: false, openssl: null, opensslNames: ['inn'] },
  { oid: '1.2.643.100.1', model: null, rfc4514: false, openssl: null, opensslNames: ['ogrn'] },
  { oid: '1.2.643.100.3', model: null, rfc4514: false, openssl: null, opensslNames: ['snils'] },
  { oid: '1.2.643.100.5', model: null, rfc4514: false, openssl: null, opensslNames: ['ogrnip'] },
]);

function collect<V>(entries: (row: AttributeType) => Iterable<readonly [string, V]>): Map<string, V> {
  const map = new Map<string, V>();
  for (const row of ATTRIBUTE_TYPES) for (const [key, value] of entries(row)) map.set(key, value);
  return map;
}

/** OID → `NameAttribute.type` of the model. */
export const MODEL_NAMES: ReadonlyMap<string, string> = collect((row) =>
  row.model === null ? [] : [[row.oid, row.model] as const],
);

/** OIDs written by name in an RFC 4514 string. */
export const RFC4514_TYPES: ReadonlySet<string> = new Set(
  ATTRIBUTE_TYPES.filter((row) => row.rfc4514).map((row) => row.oid),
);

/** OID → the short name OpenSSL and BoringSSL print in RFC 2253 form. */
export const OPENSSL_SHORT_NAMES: ReadonlyMap<string, string> = collect((row) =>
  row.openssl === null ? [] : [[row.oid, row.openssl] as const],
);

/**
 * Attribute type names (lower-case) → OID: the model's names and the long forms. Accepted by
 * `get` / `getAll` and by DN strings.
 */
export const NAME_ALIASES: ReadonlyMap<string, string> = collect((row) => [
  ...(row.model === null ? [] : [[row.model.toLowerCase(), row.oid] as const]),
  ...(row.aliases ?? []).map((alias) => [alias, row.oid] as const),
]);

/** .NET's one-letter names (lower-case) → OID, added to NAME_ALIASES by DN rules. */
export const DOTNET_NAMES: ReadonlyMap<string, string> = collect((row) =>
  row.dotnet === undefined ? [] : [[row.dotnet.toLowerCase(), row.oid] as const],
);

/** Names OpenSSL writes (lower-case) → OID, for types NAME_ALIASES does not name. */
export const OPENSSL_NAMES: ReadonlyMap<string, string> = collect((row) =>
  (row.opensslNames ?? []).map((name) => [name, row.oid] as const),
);
