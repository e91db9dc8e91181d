/**
 * A certification path as public APIs show it (`RuleContext.chain`, what a revocation checker is
 * given: `readonly X509Certificate[]`) without making any `X509Certificate` until someone reads an
 * element. Inside the package the path stays records: `pathRecords` finds them again from the
 * view, so issuer pins, thumbprint rules and revocation never make Node's objects either.
 */
import type { X509Certificate } from 'node:crypto';
import { type CertificateRecord, factsOf } from './facts.js';

const views = new WeakMap<readonly X509Certificate[], readonly CertificateRecord[]>();

/**
 * A frozen array whose element i is `records[i].x509`, made on first read of that element (and
 * locked as the record says). The same view for the same array of records is not kept: make one
 * per path.
 */
export function x509Path(records: readonly CertificateRecord[]): readonly X509Certificate[] {
  const view: X509Certificate[] = [];
  records.forEach((record, index) => {
    Object.defineProperty(view, index, { get: () => record.x509, enumerable: true });
  });
  Object.freeze(view);
  views.set(view, records);
  return view;
}

/** The records of a path: those behind a view, or those of any other array of Node objects. */
export function pathRecords(chain: readonly X509Certificate[]): readonly CertificateRecord[] {
  return views.get(chain) ?? chain.map(factsOf);
}
