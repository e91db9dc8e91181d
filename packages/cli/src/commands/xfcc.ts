/**
 * `clientcert xfcc`: the header a proxy would send for a certificate, to test an app with
 * `curl -H`. XFCC is written by the core's own forwarder (Envoy's format, byte for byte); the
 * other formats as the proxies that use them write them.
 */
import type { Socket } from 'node:net';
import { createXfccForwarder, derToPem, type XfccDetail, type XfccForwarder } from '@clientcert/core';
import { usageError } from '../errors.js';
import { loadCertificates, readArgument, readFile } from '../input.js';

export type OutputFormat = 'xfcc' | 'rfc9440' | 'url-pem' | 'base64-der';
export const OUTPUT_FORMATS: readonly OutputFormat[] = ['xfcc', 'rfc9440', 'url-pem', 'base64-der'];
const DETAILS: readonly XfccDetail[] = ['Cert', 'Chain', 'Subject', 'URI', 'DNS'];

export interface XfccOptions {
  /** A PEM file with the intermediates the client would present. */
  chain?: string | undefined;
  /** XFCC `By`: the proxy's own URI SAN(s). */
  by?: string[] | undefined;
  /** XFCC details (default all five). */
  details?: string[] | undefined;
  format?: string | undefined;
  passphrase?: string | undefined;
}

/** One header to send: its (lower-case) name and value. */
export interface HeaderLine {
  name: string;
  value: string;
}

/** The header(s) carrying `certFile` (PEM, bundle, DER or PFX; in a bundle, the first is the leaf). */
export function buildHeaders(certFile: string, options: XfccOptions = {}): HeaderLine[] {
  const format = (options.format ?? 'xfcc') as OutputFormat;
  if (!OUTPUT_FORMATS.includes(format))
    throw usageError(`unknown --format "${options.format}": use one of ${OUTPUT_FORMATS.join(', ')}`);
  const { data, name } = readArgument(certFile, false);
  const loaded = loadCertificates(data, name, { passphrase: options.passphrase, format: undefined });
  if (loaded.kind === 'header') throw usageError(`${name} is a header value, not a certificate file`);
  let chain = loaded.chain;
  if (options.chain !== undefined) {
    const extra = loadCertificates(readFile(options.chain), options.chain, {});
    chain = [...chain, extra.leaf, ...extra.chain];
  }
  if (format !== 'xfcc' && (options.by?.length || options.details))
    throw usageError('--by and --details only apply to --format xfcc');
  switch (format) {
    case 'xfcc':
      return [{ name: 'x-forwarded-client-cert', value: xfccValue(loaded.leaf, chain, options) }];
    case 'rfc9440': {
      const headers = [{ name: 'client-cert', value: `:${loaded.leaf.toString('base64')}:` }];
      if (chain.length > 0)
        headers.push({
          name: 'client-cert-chain',
          value: chain.map((der) => `:${der.toString('base64')}:`).join(', '),
        });
      return headers;
    }
    case 'url-pem':
      if (chain.length > 0)
        throw usageError("url-pem carries the leaf only: drop --chain (or the bundle's other certificates)");
      return [{ name: 'ssl-client-cert', value: nginxEscape(derToPem(loaded.leaf)) }];
    case 'base64-der':
      if (chain.length > 0)
        throw usageError("base64-der carries the leaf only: drop --chain (or the bundle's other certificates)");
      return [{ name: 'x-client-cert', value: loaded.leaf.toString('base64') }];
  }
}

/** Envoy's element, written by the core's forwarder for a connection presenting `leaf` and `chain`. */
function xfccValue(leaf: Buffer, chain: readonly Buffer[], options: XfccOptions): string {
  let details: XfccDetail[] | undefined;
  if (options.details) {
    details = options.details
      .flatMap((d) => d.split(','))
      .map((d) => d.trim())
      .filter((d) => d !== '')
      .map((d) => {
        const known = DETAILS.find((k) => k.toLowerCase() === d.toLowerCase());
        if (!known) throw usageError(`unknown XFCC detail "${d}": use ${DETAILS.join(',')}`);
        return known;
      });
    details = [...new Set(details)];
  }
  const by = options.by
    ?.flatMap((b) => b.split(','))
    .map((b) => b.trim())
    .filter((b) => b !== '');
  let forwarder: XfccForwarder;
  try {
    forwarder = createXfccForwarder({
      mode: 'SANITIZE_SET',
      ...(details ? { details } : {}),
      ...(by?.length ? { by } : {}),
    });
  } catch (error) {
    throw usageError(
      (error instanceof Error ? error.message : String(error)).replace(/^clientcert: option "by"/, '--by'),
    );
  }
  const value = forwarder.headerFor(presentingSocket(leaf, chain), undefined);
  if (value === undefined)
    throw usageError('this certificate cannot be written into an XFCC header (a SAN with control characters?)');
  return value;
}

/** What a TLS socket reports for a client that presented `leaf` and `chain` (getPeerX509Certificate() and its issuer links). */
function presentingSocket(leaf: Buffer, chain: readonly Buffer[]): Socket {
  type Peer = { raw: Buffer; issuerCertificate?: Peer };
  const top: Peer = { raw: leaf };
  let current = top;
  for (const der of chain) {
    const next: Peer = { raw: der };
    current.issuerCertificate = next;
    current = next;
  }
  return {
    encrypted: true,
    authorized: true,
    authorizationError: null,
    getPeerX509Certificate: () => top,
  } as unknown as Socket;
}

/** nginx `$ssl_client_escaped_cert`: everything but `A-Z a-z 0-9 - . _ ~` as `%XX`. */
export function nginxEscape(text: string): string {
  return text.replace(/[^A-Za-z0-9\-._~]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`);
}
