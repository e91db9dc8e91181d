/** Help texts: `clientcert --help` and `clientcert <command> --help`. */

export const USAGE = `Usage: clientcert <command> [options]

Commands:
  gen       generate a test CA, server and client certificates (PEM, optional PFX)
  inspect   show what a certificate file or forwarded header value contains
  xfcc      build an x-forwarded-client-cert (or other format) header value for curl -H
  check     would this certificate pass this configuration? (runs the real middleware)

Run "clientcert <command> --help" for a command's options.
Exit codes: 0 ok, 1 check failed / certificate rejected, 2 usage error, 3 input unreadable or malformed.`;

export const HELP: Record<string, string> = {
  gen: `Usage: clientcert gen [options]

Writes a test CA and server and client certificates signed by it:
  ca.pem ca.key [intermediate.pem intermediate.key] server.pem server.key client.pem client.key [client.pfx]
With --intermediate, server.pem and client.pem hold the leaf followed by the intermediate.
Existing files are never overwritten unless --force is given.

Options:
  --out <dir>               directory to write to (default: the current directory; created if missing)
  --key-type <rsa|ec>       key type of every certificate (default: ec, P-256; rsa is 2048-bit)
  --client-subject <dn>     client subject, RFC 4514 (default: CN=client)
  --san <list>              client subjectAltNames: dns:x,uri:spiffe://td/x,email:a@b,ip:127.0.0.1
  --days <n>                validity of the server and client certificates in days (default 365;
                            negative makes them already expired, for testing rejections)
  --server-name <name>      server certificate's DNS name (default: localhost; localhost also gets
                            IP 127.0.0.1 and ::1)
  --intermediate            issue the leaves from an intermediate CA
  --pfx                     also write client.pfx (PKCS#12; needs the openssl command)
  --passphrase <text>       the PFX passphrase (required with --pfx; '' for none)
  --force                   overwrite existing files
  -h, --help                show this help`,

  inspect: `Usage: clientcert inspect <file | - | header-value> [options]

Shows subject, issuer, SANs, SPIFFE ID, validity, serial, key, thumbprints and the chain of:
  a PEM file (one certificate or a bundle: the first is the leaf), a DER file, a PKCS#12/PFX file,
  or a forwarded header value (from a file, from standard input with -, or as the argument):
  XFCC (Envoy, Istio, Azure Container Apps), RFC 9440 (:base64:), URL-encoded PEM (nginx),
  Traefik, base64 DER (Azure App Service, Cloudflare, Caddy, HAProxy), AWS ALB.
A pasted "Header-Name: value" line is accepted too.

Options:
  --json                    machine-readable output (stable keys)
  --format <format>         do not detect: pem, der, pfx, xfcc, rfc9440, traefik, url-pem,
                            base64-der, aws-alb
  --header <name>           the header the value came from (selects the format), e.g.
                            x-forwarded-client-cert, client-cert, ssl-client-cert
  --element <first|last>    XFCC: which element to read (default last, the nearest proxy's, as
                            the middleware does)
  --passphrase <text>       PFX passphrase (reading PFX needs the openssl command)
  -h, --help                show this help

Thumbprints: SHA-1 upper-case hex without colons (as Azure shows it), SHA-256 lower-case hex
(XFCC Hash, sha256: pins), SPKI SHA-256 base64 (Envoy verify_certificate_spki, spki-sha256: pins).`,

  xfcc: `Usage: clientcert xfcc <cert-file> [options]

Prints the header value a proxy would send for this client certificate, e.g.
  curl -H "x-forwarded-client-cert: $(clientcert xfcc client.pem)" http://127.0.0.1:3000/
XFCC is written exactly as Envoy writes it (SANITIZE_SET). In a PEM bundle, the first certificate
is the leaf and the others its chain; trailing self-signed roots are left out of Chain, as Envoy does.

Options:
  --chain <file>            PEM file with the intermediates the client presents
  --by <uri>                XFCC By: the proxy's own URI SAN (repeatable)
  --details <list>          XFCC details, comma-separated: Cert,Chain,Subject,URI,DNS (default all)
  --format <format>         xfcc (default), rfc9440 (Client-Cert), url-pem (nginx
                            $ssl_client_escaped_cert), base64-der (Azure App Service, Cloudflare)
  --headers                 print "name: value" lines (needed for rfc9440 with a chain: two headers)
  --passphrase <text>       for a PFX input
  -h, --help                show this help`,

  check: `Usage: clientcert check <cert-file | header-value | -> --config <file> [options]

Would this certificate pass? Runs the real middleware (createClientCertAuth(options).authenticate)
with the options from the config file and prints accepted (verified by, matched pin and identity)
or rejected (the problem code, its detail and the check that decided).

The certificate is delivered as a forwarded header from a trusted loopback proxy: a certificate
file as XFCC (Cert and Chain), a header value in its own format (detected, or --format). The
config's own source, trustProxy, mode and logger are replaced for that; everything else (ca,
intermediates, pins, rules, revocation, purpose, verifyPolicy, proxy, proxyVerified, xfcc) is used
as given. Without ca, pins or proxyVerified a forwarded certificate is untrusted: a configuration
that relies on the TLS server's own ca cannot be checked this way.

Config: a .json file with the middleware options, or a .js/.mjs/.cjs module exporting them (default
export). In ca, intermediates and pins, a string that is not PEM text nor a sha256:/spki-sha256: pin
is a file path, relative to the config file.

Options:
  --config <file>           the configuration (required)
  --format <format>         input format, as for inspect
  --passphrase <text>       for a PFX input
  --at <date>               decide as of this time (ISO 8601), e.g. to check a renewal date
  --json                    machine-readable output
  -h, --help                show this help

Exit codes: 0 accepted, 1 rejected, 2 usage error, 3 input or config unreadable or invalid.`,
};
