/** `clientcert inspect`: what a certificate file or forwarded header value contains. */
import { createHash } from 'node:crypto';
import { type ClientCertificate, parseCertificate } from '@clientcert/core';
import { oneLine } from '../errors.js';
import { type LoadedCertificates, type LoadOptions, loadCertificates, readArgument } from '../input.js';

const DAY_MS = 86_400_000;

/** One certificate, as `--json` prints it (keys are stable). */
export interface CertificateReport {
  subject: string;
  issuer: string;
  serialNumber: string;
  notBefore: string;
  notAfter: string;
  /** `valid`, `expired` or `not_yet_valid` at the time of inspection, and whole days to / since the boundary. */
  validity: { status: 'valid' | 'expired' | 'not_yet_valid'; days: number; text: string };
  san: { dns: string[]; uri: string[]; email: string[]; ip: string[] };
  spiffeId: string | null;
  extKeyUsage: string[];
  isCA: boolean;
  /** `RSA 2048`, `EC P-256`, `Ed25519`, ... */
  publicKey: string;
  fingerprints: {
    /** Upper-case hex, no colons: the thumbprint Azure (and Windows) show. */
    sha1: string;
    /** Lower-case hex of the DER (XFCC `Hash`, `sha256:` pins). */
    sha256: string;
    /** Base64 SHA-256 of the SubjectPublicKeyInfo (Envoy `verify_certificate_spki`, `spki-sha256:` pins). */
    spkiSha256: string;
  };
}

export interface InspectReport {
  input: {
    kind: LoadedCertificates['kind'];
    format: LoadedCertificates['format'];
    /** XFCC only: element count, which was read (1-based), its By, and whether Hash matches Cert. */
    xfcc: LoadedCertificates['xfcc'];
  };
  certificate: CertificateReport;
  chain: CertificateReport[];
}

export interface InspectOptions extends LoadOptions {
  /** The time validity is reported against (default now). */
  now?: Date;
}

/** Inspects a file, `-` (stdin) or a header value given as the argument. */
export function inspect(argument: string, options: InspectOptions = {}): InspectReport {
  const { data, name } = readArgument(argument, true);
  return inspectLoaded(loadCertificates(data, name, options), options.now);
}

export function inspectLoaded(loaded: LoadedCertificates, now = new Date()): InspectReport {
  return {
    input: { kind: loaded.kind, format: loaded.format, xfcc: loaded.xfcc },
    certificate: describeCertificate(parseCertificate(loaded.leaf), now),
    chain: loaded.chain.map((der) => describeCertificate(parseCertificate(der), now)),
  };
}

export function describeCertificate(certificate: ClientCertificate, now = new Date()): CertificateReport {
  const key = certificate.x509.publicKey;
  const details = key.asymmetricKeyDetails ?? {};
  const type = key.asymmetricKeyType ?? 'unknown';
  const publicKey =
    type === 'rsa' || type === 'rsa-pss'
      ? `${type.toUpperCase()} ${details.modulusLength ?? '?'}`
      : type === 'ec'
        ? `EC ${details.namedCurve === 'prime256v1' ? 'P-256' : details.namedCurve === 'secp384r1' ? 'P-384' : details.namedCurve === 'secp521r1' ? 'P-521' : (details.namedCurve ?? '?')}`
        : type === 'ed25519'
          ? 'Ed25519'
          : type === 'ed448'
            ? 'Ed448'
            : type;
  const spki = key.export({ type: 'spki', format: 'der' });
  return {
    subject: certificate.subject.rfc4514,
    issuer: certificate.issuer.rfc4514,
    serialNumber: certificate.serialNumber,
    notBefore: certificate.notBefore.toISOString(),
    notAfter: certificate.notAfter.toISOString(),
    validity: validity(certificate.notBefore, certificate.notAfter, now),
    san: {
      dns: [...certificate.san.dns],
      uri: [...certificate.san.uri],
      email: [...certificate.san.email],
      ip: [...certificate.san.ip],
    },
    spiffeId: certificate.spiffeId,
    extKeyUsage: [...certificate.extKeyUsage],
    isCA: certificate.isCA,
    publicKey,
    fingerprints: {
      sha1: certificate.fingerprints.sha1.toUpperCase(),
      sha256: certificate.fingerprints.sha256,
      spkiSha256: createHash('sha256').update(spki).digest('base64'),
    },
  };
}

function validity(notBefore: Date, notAfter: Date, now: Date): CertificateReport['validity'] {
  const plural = (n: number) => `${n} day${n === 1 ? '' : 's'}`;
  if (now < notBefore) {
    const days = Math.ceil((notBefore.getTime() - now.getTime()) / DAY_MS);
    return { status: 'not_yet_valid', days, text: `not yet valid: valid in ${plural(days)}` };
  }
  if (now > notAfter) {
    const days = Math.floor((now.getTime() - notAfter.getTime()) / DAY_MS);
    return { status: 'expired', days, text: days === 0 ? 'expired today' : `expired ${plural(days)} ago` };
  }
  const days = Math.floor((notAfter.getTime() - now.getTime()) / DAY_MS);
  return { status: 'valid', days, text: days === 0 ? 'expires today' : `expires in ${plural(days)}` };
}

const EKU_NAMES: Record<string, string> = {
  '1.3.6.1.5.5.7.3.1': 'serverAuth',
  '1.3.6.1.5.5.7.3.2': 'clientAuth',
  '1.3.6.1.5.5.7.3.3': 'codeSigning',
  '1.3.6.1.5.5.7.3.4': 'emailProtection',
  '2.5.29.37.0': 'any',
};

/** The human-readable report. Every value from the certificate is printed with control characters escaped. */
export function formatInspect(report: InspectReport): string {
  const lines: string[] = [];
  const { input } = report;
  const from = input.kind === 'header' ? `${input.format} header value` : `${input.kind.toUpperCase()} file`;
  lines.push(`Certificate (from ${from})`);
  if (input.xfcc) {
    lines.push(
      `  XFCC element:  ${input.xfcc.selected} of ${input.xfcc.elements}${input.xfcc.by.length ? `, By ${input.xfcc.by.map(oneLine).join(', ')}` : ''}`,
    );
    lines.push(
      `  XFCC Hash:     ${input.xfcc.hashMatches ? 'matches Cert' : 'DOES NOT match Cert (the middleware rejects this value)'}`,
    );
  }
  lines.push(...certificateLines(report.certificate, '  '));
  if (report.chain.length > 0) {
    lines.push(`Chain (${report.chain.length} more certificate${report.chain.length === 1 ? '' : 's'}, as presented)`);
    report.chain.forEach((c, i) => {
      lines.push(`  [${i + 1}]`);
      lines.push(...certificateLines(c, '    '));
    });
  } else {
    lines.push('Chain: none presented (leaf only)');
  }
  return lines.join('\n');
}

function certificateLines(c: CertificateReport, indent: string): string[] {
  const sans = [
    ...c.san.dns.map((v) => `DNS:${v}`),
    ...c.san.uri.map((v) => `URI:${v}`),
    ...c.san.email.map((v) => `email:${v}`),
    ...c.san.ip.map((v) => `IP:${v}`),
  ];
  const rows: Array<[string, string]> = [
    ['Subject', c.subject || '(empty)'],
    ['Issuer', c.issuer || '(empty)'],
    ['SANs', sans.length ? sans.join(', ') : '(none)'],
    ['SPIFFE ID', c.spiffeId ?? '(none)'],
    ['Not before', c.notBefore],
    ['Not after', `${c.notAfter} (${c.validity.text})`],
    ['Serial', c.serialNumber],
    ['Public key', c.publicKey],
    ['Ext key usage', c.extKeyUsage.length ? c.extKeyUsage.map((o) => EKU_NAMES[o] ?? o).join(', ') : '(none)'],
    ['CA', c.isCA ? 'yes' : 'no'],
    ['SHA-1', `${c.fingerprints.sha1} (thumbprint as Azure shows it)`],
    ['SHA-256', c.fingerprints.sha256],
    ['SPKI SHA-256', `${c.fingerprints.spkiSha256} (base64, Envoy verify_certificate_spki)`],
  ];
  return rows.map(([k, v]) => `${indent}${`${k}:`.padEnd(15)}${oneLine(v)}`);
}
