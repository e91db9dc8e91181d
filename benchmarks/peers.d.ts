// Minimal declarations for the npm peers measured against (they ship no types of their own).
declare module 'client-certificate-auth' {
  import type { RequestHandler } from 'express';
  import type { PeerCertificate } from 'node:tls';
  function clientCertificateAuth(check: (cert: PeerCertificate) => boolean): RequestHandler;
  export default clientCertificateAuth;
}

declare module 'passport' {
  import type { RequestHandler } from 'express';
  interface Passport {
    use(strategy: unknown): Passport;
    initialize(): RequestHandler;
    authenticate(name: string, options?: { session?: boolean }): RequestHandler;
  }
  const passport: Passport;
  export default passport;
}
