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
  clients-ca.pem clients-ca.key [intermediate.pem intermediate.key] server.pem server.key
  client.pem client.key [client.pfx]
The CA issues the server's certificate too: clients-ca.pem is the one file both sides trust.
With --intermediate, server.pem and client.pem hold the leaf followed by the intermediate.
With --ca and --ca-key, the clients are issued by that CA instead, and nothing else is written
(a server certificate too with --server-name). Existing files are never overwritten unless --force.

Examples:
  clientcert gen --out certs
  clientcert gen --out certs --ca certs/clients-ca.pem --ca-key certs/clients-ca.key --name expired --days -1
  clientcert gen --out certs --ca certs/clients-ca.pem --ca-key certs/clients-ca.key \\
    --client-subject CN=bob --client-subject CN=carol        # client-bob.pem, client-carol.pem

Options:
  --out <dir>               directory to write to (default: the current directory; created if missing)
  --ca <file>               issue from this existing CA (PEM; an intermediate's file may hold its chain)
  --ca-key <file>           the CA's private key (unencrypted PEM or DER; RSA or EC P-256/384/521)
  --client-subject <dn>     a client's subject, RFC 4514 (default: CN=<name>); repeat for several
                            clients, written as client-<CN>.pem / .key
  --name <name>             file name of a single client without extension (default: client)
  --san <list>              subjectAltNames of every client: dns:x,uri:spiffe://td/x,email:a@b,ip:127.0.0.1
  --days <n>                validity of the server and client certificates in days (default 365;
                            negative makes them already expired, for testing rejections)
  --not-before <date>       their validity starts then (ISO 8601); a future date makes them not yet valid
  --key-type <rsa|ec>       key type of every new key (default: ec, P-256; rsa is 2048-bit)
  --server-name <name>      server certificate's DNS name (default: localhost, which also gets IP
                            127.0.0.1 and ::1; with --ca, a server certificate only when given)
  --intermediate            issue the leaves from a new intermediate CA
  --pfx                     also write <client>.pfx (PKCS#12; needs the openssl command)
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
       clientcert check --no-certificate --config <file> [options]

Would this certificate pass? Reads the configuration as an app does (loadOptionsFile of
@clientcert/core), runs the real middleware (createClientCertAuth(options).authenticate) on the
request such an app would receive, and prints its answer: accepted (verified by, matched pin and
identity), rejected (status, problem code, detail, the check that decided), or anonymous (the
certificate was not read, and the handler would get clientCert null), with what the middleware
logs and a note naming the fix where the answer comes from the request rather than the certificate.

The configuration is used as given: mode, source, trustProxy, proxy and every other option mean
what they mean to the middleware, and an option it refuses is refused here with its error.

The request:
  - with --tls-ca, a TLS connection to a server with that ca (requestCert: true,
    rejectUnauthorized: false, as the READMEs set it up): a certificate file is presented on it,
    and the TLS stack's verdict is computed as OpenSSL's (path to the ca, validity, clientAuth);
  - without it, plain HTTP: a certificate file is written into the forwarded header the
    configuration reads (XFCC as Envoy writes it, or the named proxy's format);
  - a header value is sent in its header: --header, a pasted "Name: value", else the header the
    configuration reads for that format; a value the middleware cannot read is refused by it;
  - from --from, else a proxy trustProxy trusts (127.0.0.1 for the default) when a header carries
    the certificate, or a client it does not trust (203.0.113.10) when only TLS does.

Config: a .json file with the middleware options, or a .js/.mjs/.cjs module exporting them (default
export). A string is what it is in code: ca: "-----BEGIN..." is PEM text. To read a file, write
{ "file": "clients-ca.pem" } (relative to the config file) in ca, intermediates, pins (and a pin's
leaf / issuer) and revocation.crls.

Options:
  --config, -c <file>       the configuration (required)
  --tls-ca <file>           the HTTPS server's ca: the request comes on a TLS connection (repeatable)
  --from <address>          the peer's address
  --header <name>           the header the value came from and is sent in (any name: a custom
                            source's header too)
  -H, --add-header <line>   another request header, "name: value" (repeatable), e.g.
                            -H "ssl-client-verify: SUCCESS"
  --no-certificate          decide a request that presents no certificate
  --format <format>         input format, as for inspect
  --passphrase <text>       for a PFX input
  --at <date>               decide as of this time (ISO 8601), e.g. to check a renewal date
  --json                    machine-readable output
  -h, --help                show this help

Exit codes: 0 accepted, 1 rejected or not read, 2 usage error, 3 input or config unreadable or invalid.`,
};
