// The route handler of packages/fetch/README.md's Next.js recipe, in JavaScript: with a TypeScript
// file in app/, Next.js requires @types/react, which this repository does not install, and would
// install it itself. The README's TypeScript is compiled by test/readme-snippets.test.ts.
import { readFileSync } from 'node:fs';
import { createRequestAuth, problemResponse } from '@clientcert/fetch';

// The test names its CA file; `next build` runs this line too (collecting page data), so the file
// must exist then as well as under `next start`.
const auth = createRequestAuth({ proxy: 'envoy', ca: readFileSync(process.env.CLIENTS_CA_FILE) });

export async function GET(request) {
  // Only true while the server listens on 127.0.0.1 alone, behind the sidecar.
  const result = await auth.authenticate(request, { remoteAddress: '127.0.0.1' });
  if (!result.ok) return problemResponse(result);
  return Response.json({ subject: result.certificate?.subject.rfc4514 });
}
