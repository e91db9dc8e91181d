import { createPrivateKey, createPublicKey, type KeyObject, type X509Certificate } from 'node:crypto';
import { createSecureContext } from 'node:tls';
import { type ClientCertificate, isClientCertError, parseCertificate, parseCertificateChain } from '@clientcert/core';
import { credentialError, optionError } from './errors.js';
import { type ReadInput, readInput } from './input.js';
import { serverObjections } from './judge.js';
import { type Pkcs12Contents, Pkcs12Error, readPkcs12 } from './pkcs12.js';

/** Common options of both credential forms. */
export interface CredentialCommonOptions {
  /** A stable name for the credential (store look-ups by id); it survives rotation, a thumbprint does not. */
  id?: string;
  /** Load a certificate whose notAfter has passed (or whose notBefore is in the future). Default false. */
  allowExpired?: boolean;
  /** The clock for the validity check (default `() => new Date()`). */
  now?: () => Date;
  /**
   * Called with each warning: what a server with clientcert's default options would refuse in the
   * certificate (its `warnings`), and, for a watched credential, its coming expiry. Default:
   * `process.emitWarning(message, { code })`, code `CLIENTCERT_CREDENTIAL_POLICY` (or `_EXPIRING`).
   */
  onWarning?: (message: string, credential: ClientCredential) => void;
}

/** A PKCS#12 / PFX file (path) or its bytes, and its passphrase. */
export interface PfxCredentialOptions extends CredentialCommonOptions {
  pfx: string | Buffer;
  /**
   * The PFX passphrase as typed, any Unicode text; `''`/absent for a PFX without one. Each scheme
   * gets it in the encoding it defines: UTF-8 for PBES2 (AES), UTF-16 (BMPString) for the MAC and
   * for 3DES/RC2. It is not Unicode-normalized: type it as it was typed at export.
   */
  passphrase?: string;
  cert?: never;
  key?: never;
}

/** A PEM certificate and private key (paths or PEM text), an optional chain, an optional key passphrase. */
export interface PemCredentialOptions extends CredentialCommonOptions {
  /** The leaf certificate; a bundle (leaf first, then intermediates) is accepted too. */
  cert: string | Buffer;
  /** The private key: PKCS#8, PKCS#1 or SEC1 PEM, encrypted or not. */
  key: string | Buffer;
  /** The passphrase of an encrypted key. */
  passphrase?: string;
  /** Intermediate certificates to send after the leaf. */
  chain?: string | Buffer;
  pfx?: never;
}

export type CredentialOptions = PfxCredentialOptions | PemCredentialOptions;

/** What to hand to `tls.connect` / `https.request` / undici `connect`. */
export interface CredentialTlsOptions {
  /** The leaf followed by the chain, PEM. */
  cert: string;
  /** The private key as unencrypted PKCS#8 PEM (held in memory only). */
  key: string;
  ca?: string | string[];
}

/** A loaded, validated client certificate with its key. */
export interface ClientCredential {
  /** The stable name, when one was given (or the file base name in a directory store). */
  readonly id: string | undefined;
  readonly certificate: ClientCertificate;
  /** Intermediates sent after the leaf, nearest first. */
  readonly chain: readonly ClientCertificate[];
  /** RFC 4514 subject, e.g. `CN=alice,O=Acme`. */
  readonly subject: string;
  readonly issuer: string;
  /**
   * `sha1`: upper-case hex without separators, as Azure and Windows show a thumbprint;
   * `sha256`: lower-case hex. Both change whenever the certificate is renewed.
   */
  readonly thumbprints: { readonly sha1: string; readonly sha256: string };
  readonly notBefore: Date;
  readonly notAfter: Date;
  /** `rsa`, `ec`, `ed25519`, ... (node:crypto's asymmetricKeyType). */
  readonly keyType: string;
  /** The files it was read from (empty when given as content), for watching and messages. */
  readonly files: readonly string[];
  /** Where it came from, for messages: `file "/etc/certs/client.pfx"`. */
  readonly origin: string;
  /**
   * What a server with clientcert's default options would refuse in this certificate (a key the
   * default key policy refuses, an extended key usage without clientAuth, a key usage without
   * digitalSignature), each naming the fix; empty when nothing. Reported through `onWarning` when
   * loaded: other servers may still accept it, so it is loaded anyway.
   */
  readonly warnings: readonly string[];
  /** TLS options that present this certificate. */
  tlsOptions(): CredentialTlsOptions;
}

const DAY_MS = 86_400_000;

function spki(key: KeyObject): Buffer {
  return key.export({ type: 'spki', format: 'der' });
}

function certPublicKey(x509: X509Certificate): Buffer {
  return spki(x509.publicKey);
}

function isPassphraseError(error: unknown): boolean {
  const e = error as { code?: string; message?: string };
  const text = `${e.code ?? ''} ${e.message ?? ''}`;
  return /BAD_DECRYPT|MISSING_PASSPHRASE|bad decrypt|passphrase|password|mac verify|Invalid password|wrong password/i.test(
    text,
  );
}

/** Read a private key, mapping failures to passphrase / malformed errors that name the source. */
function readPrivateKey(input: ReadInput, passphrase: string | undefined): KeyObject {
  try {
    return createPrivateKey(passphrase === undefined ? { key: input.data } : { key: input.data, passphrase });
  } catch (error) {
    const text = input.data.toString('latin1');
    const encrypted = /ENCRYPTED/.test(text);
    if (isPassphraseError(error) || (encrypted && /PRIVATE KEY/.test(text))) {
      throw credentialError(
        'credential_passphrase',
        passphrase === undefined
          ? `the private key in ${input.label} is encrypted and no passphrase was given`
          : `wrong passphrase for the private key in ${input.label}`,
        error,
      );
    }
    throw credentialError('credential_malformed', `${input.label} does not contain a readable private key`, error);
  }
}

function readCertificates(input: ReadInput, what: string): ClientCertificate[] {
  let certs: ClientCertificate[];
  try {
    certs = parseCertificateChain(input.data);
  } catch (error) {
    throw credentialError('credential_malformed', `${input.label} does not contain a readable ${what}`, error);
  }
  if (certs.length === 0) throw credentialError('credential_malformed', `${input.label} contains no ${what}`);
  return certs;
}

/** Order the extra certificates from the leaf upwards; those not on the path follow in their order. */
function orderChain(leaf: ClientCertificate, extras: ClientCertificate[]): ClientCertificate[] {
  const rest = extras.filter((c) => c.fingerprints.sha256 !== leaf.fingerprints.sha256);
  const ordered: ClientCertificate[] = [];
  let current = leaf;
  for (;;) {
    const index = rest.findIndex(
      (c) => current.x509.checkIssued(c.x509) && c.fingerprints.sha256 !== current.fingerprints.sha256,
    );
    if (index < 0) break;
    const next = rest.splice(index, 1)[0]!;
    ordered.push(next);
    current = next;
  }
  return [...ordered, ...rest];
}

interface Parts {
  leaf: ClientCertificate;
  chain: ClientCertificate[];
  key: KeyObject;
  files: string[];
  origin: string;
}

function loadPem(options: PemCredentialOptions): Parts {
  const certInput = readInput('cert', options.cert, 'pem');
  const keyInput = readInput('key', options.key, 'pem');
  const chainInput = options.chain === undefined ? undefined : readInput('chain', options.chain, 'pem');
  const certs = readCertificates(certInput, 'certificate');
  const chain = chainInput ? readCertificates(chainInput, 'certificate chain') : [];
  const key = readPrivateKey(keyInput, options.passphrase);
  const leaf = certs[0]!;
  if (!spki(createPublicKey(key)).equals(certPublicKey(leaf.x509))) {
    throw credentialError(
      'credential_key_mismatch',
      `the private key in ${keyInput.label} does not match the certificate in ${certInput.label} (subject ${leaf.subject.rfc4514})`,
    );
  }
  const files = [certInput.path, keyInput.path, chainInput?.path].filter((p): p is string => p !== undefined);
  return { leaf, chain: orderChain(leaf, [...certs.slice(1), ...chain]), key, files, origin: certInput.label };
}

function loadPfx(options: PfxCredentialOptions): Parts {
  const input = readInput('pfx', options.pfx, 'pfx');
  let contents: Pkcs12Contents;
  try {
    contents = readPkcs12(input.data, options.passphrase ?? '', input.label);
  } catch (error) {
    if (error instanceof Pkcs12Error) {
      throw credentialError(
        error.kind === 'passphrase' ? 'credential_passphrase' : 'credential_malformed',
        error.message,
        error,
      );
    }
    throw error;
  }
  let keys: KeyObject[];
  let certs: ClientCertificate[];
  try {
    keys = contents.keys.map((der) => createPrivateKey({ key: der, format: 'der', type: 'pkcs8' }));
  } catch (error) {
    throw credentialError(
      'credential_malformed',
      `${input.label} holds a private key that Node.js cannot read ` +
        `(${(error as Error).message}): export it again with a key type Node.js supports (RSA, EC, Ed25519)`,
      error,
    );
  }
  try {
    certs = contents.certs.map((der) => parseCertificate(der));
  } catch (error) {
    if (!isClientCertError(error)) throw error;
    throw credentialError(
      'credential_malformed',
      `${input.label} holds a malformed certificate (${error.message}): export it again`,
      error,
    );
  }
  if (keys.length === 0) {
    throw credentialError(
      'credential_malformed',
      `${input.label} (PKCS#12) contains no private key (a certificate-only export, ` +
        'e.g. openssl pkcs12 -export -nokeys): export it with its key (openssl pkcs12 -export -in cert.pem -inkey key.pem), ' +
        'or give the certificate and key as PEM (cert and key options)',
    );
  }
  if (certs.length === 0) {
    throw credentialError(
      'credential_malformed',
      `${input.label} (PKCS#12) contains no certificate (a key-only export, ` +
        'e.g. openssl pkcs12 -export -nocerts): export it with its certificate (openssl pkcs12 -export -in cert.pem -inkey key.pem)',
    );
  }
  for (const key of keys) {
    const publicKey = spki(createPublicKey(key));
    const leaf = certs.find((c) => certPublicKey(c.x509).equals(publicKey));
    if (leaf) {
      return { leaf, chain: orderChain(leaf, certs), key, files: input.path ? [input.path] : [], origin: input.label };
    }
  }
  throw credentialError(
    'credential_key_mismatch',
    `no certificate in ${input.label} (PKCS#12) matches its private key: ` +
      'export it again from the key and its own certificate',
  );
}

function checkOptions(options: unknown): asserts options is CredentialOptions {
  if (typeof options !== 'object' || options === null)
    throw optionError('credential', 'must be an object with pfx, or cert and key');
  const o = options as Record<string, unknown>;
  if (o.pfx !== undefined && (o.cert !== undefined || o.key !== undefined)) {
    throw optionError('pfx', 'cannot be combined with cert/key');
  }
  if (o.pfx === undefined && (o.cert === undefined || o.key === undefined)) {
    throw optionError('credential', 'needs pfx, or both cert and key');
  }
  if (o.passphrase !== undefined && typeof o.passphrase !== 'string')
    throw optionError('passphrase', 'must be a string');
  if (o.onWarning !== undefined && typeof o.onWarning !== 'function')
    throw optionError('onWarning', 'must be a function (message, credential) => void');
}

/**
 * Load and validate a client certificate and its private key, synchronously. What can never work
 * is refused here, as a `ClientCertError` whose code is one of `credential_unreadable`,
 * `credential_malformed`, `credential_passphrase`, `credential_key_mismatch`,
 * `credential_expired`, `credential_not_yet_valid`, and whose message names the file. What a
 * server may refuse (`warnings`) is reported through `onWarning`.
 */
export function loadClientCredential(options: CredentialOptions): ClientCredential {
  const credential = readClientCredential(options);
  reportWarnings(credential.warnings, credential, options.onWarning, 'CLIENTCERT_CREDENTIAL_POLICY');
  return credential;
}

/** Each warning to `onWarning`, else as a process warning with `code`. */
export function reportWarnings(
  messages: readonly string[],
  credential: ClientCredential,
  onWarning: CredentialCommonOptions['onWarning'],
  code: string,
): void {
  for (const message of messages) {
    if (onWarning) onWarning(message, credential);
    else process.emitWarning(message, { code });
  }
}

/** `loadClientCredential` without reporting its warnings (a watched credential reports them itself). */
export function readClientCredential(options: CredentialOptions): ClientCredential {
  checkOptions(options);
  const parts = options.pfx !== undefined ? loadPfx(options) : loadPem(options);
  const { leaf, chain, key } = parts;
  const now = (options.now ?? (() => new Date()))();
  if (!options.allowExpired) {
    if (leaf.notAfter.getTime() < now.getTime()) {
      throw credentialError(
        'credential_expired',
        `the certificate in ${parts.origin} (${leaf.subject.rfc4514}) expired on ${leaf.notAfter.toISOString()}` +
          ' (set allowExpired to load it anyway)',
      );
    }
    if (leaf.notBefore.getTime() > now.getTime()) {
      throw credentialError(
        'credential_not_yet_valid',
        `the certificate in ${parts.origin} (${leaf.subject.rfc4514}) is not valid before ${leaf.notBefore.toISOString()}`,
      );
    }
  }
  const tls: CredentialTlsOptions = {
    cert: [leaf.pem, ...chain.map((c) => c.pem)].join(''),
    key: key.export({ type: 'pkcs8', format: 'pem' }) as string,
  };
  // The TLS stack's own check, so that whatever OpenSSL refuses is refused now, not per request.
  try {
    createSecureContext({ cert: tls.cert, key: tls.key });
  } catch (error) {
    throw credentialError(
      'credential_malformed',
      `the TLS stack refuses the credential from ${parts.origin}: ${(error as Error).message}`,
      error,
    );
  }
  const credential: ClientCredential = {
    id: options.id,
    certificate: leaf,
    chain,
    subject: leaf.subject.rfc4514,
    issuer: leaf.issuer.rfc4514,
    thumbprints: { sha1: leaf.fingerprints.sha1.toUpperCase(), sha256: leaf.fingerprints.sha256.toLowerCase() },
    notBefore: leaf.notBefore,
    notAfter: leaf.notAfter,
    keyType: key.asymmetricKeyType ?? 'unknown',
    files: parts.files,
    origin: parts.origin,
    warnings: Object.freeze(serverObjections(leaf, chain, parts.origin, now)),
    tlsOptions: () => ({ ...tls }),
  };
  return Object.freeze(credential);
}

/** Days until the credential expires (negative once expired). */
export function daysUntilExpiry(credential: ClientCredential, now: Date = new Date()): number {
  return (credential.notAfter.getTime() - now.getTime()) / DAY_MS;
}
