// Minimal declarations for the npm peers measured against and the load generator (they ship no types).
declare module 'client-certificate-auth' {
  import type { PeerCertificate } from 'node:tls';
  import type { RequestHandler } from 'express';

  function clientCertificateAuth(check: (cert: PeerCertificate) => boolean): RequestHandler;
  export default clientCertificateAuth;
}

// The load generator's programmatic API, as far as load-worker.ts uses it.
declare module 'autocannon' {
  namespace autocannon {
    interface Request {
      headers?: Record<string, string>;
      [key: string]: unknown;
    }
    interface Options {
      url: string;
      connections?: number;
      duration?: number;
      /** Stop after this many requests (instead of `duration`). */
      amount?: number;
      headers?: Record<string, string>;
      reconnectRate?: number;
      tlsOptions?: { cert?: string | Buffer; key?: string | Buffer; ca?: Array<string | Buffer> };
      requests?: Array<{ setupRequest?: (request: Request) => Request }>;
    }
    interface Result {
      requests: { average: number; total: number };
      non2xx: number;
      errors: number;
      timeouts: number;
    }
  }
  function autocannon(options: autocannon.Options): Promise<autocannon.Result>;
  export default autocannon;
}
