// The proxy (Next.js 16's name for middleware) of packages/fetch/README.md's Next.js recipe: it
// guards /guarded/* and hands the admitted subject to the route in a request header it sets itself.
// JavaScript for the reason app/whoami/route.js gives.
import { readFileSync } from 'node:fs';
import { createRequestAuth, problemResponse } from '@clientcert/fetch';
// With the extension, as the README writes it: its TypeScript snippets compile under nodenext,
// where `next` (no exports map) has no `next/server`; Next.js resolves either.
import { NextResponse } from 'next/server.js';

const auth = createRequestAuth({ proxy: 'envoy', ca: readFileSync(process.env.CLIENTS_CA_FILE) });

export async function proxy(request) {
  // Only true while the server listens on 127.0.0.1 alone, behind the sidecar.
  const result = await auth.authenticate(request, { remoteAddress: '127.0.0.1' });
  if (!result.ok) return problemResponse(result);
  // Set on every admitted request, so that a caller's own x-client-subject never reaches the route.
  const headers = new Headers(request.headers);
  headers.set('x-client-subject', result.certificate?.subject.rfc4514 ?? '');
  return NextResponse.next({ request: { headers } });
}

export const config = { matcher: '/guarded/:path*' };
