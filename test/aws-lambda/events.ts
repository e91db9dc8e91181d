/**
 * Invocation events in the shapes AWS documents them, written by hand: API Gateway REST proxy
 * integration (payload 1.0, `requestContext.identity.clientCert`), HTTP API payload 2.0
 * (`requestContext.authentication.clientCert`) and 1.0, and an ALB Lambda target (headers, or
 * `multiValueHeaders` when the target group has them on). Certificates come from the core's test
 * kit; the `clientCert` fields are written as API Gateway writes them (DNs comma-separated, the
 * serial as colon-separated hex, validity in OpenSSL's `MMM DD HH:MM:SS YYYY GMT`).
 */
import type { X509Certificate } from 'node:crypto';
import type { TestCertificate } from '../../packages/core/src/testkit/index.js';
import { albEscape } from '../helpers/encodings.js';

export interface ApiGatewayClientCert {
  clientCertPem: unknown;
  subjectDN: string;
  issuerDN: string;
  serialNumber: string;
  validity: { notBefore: string; notAfter: string };
}

/** A DN comma-separated, most specific first, for the plain names used here. */
function dn(name: X509Certificate['subject']): string {
  return name.split('\n').filter(Boolean).reverse().join(',');
}

/** OpenSSL's `ASN1_TIME_print`: `May 28 12:30:02 2019 GMT`, the day padded with a space. */
function opensslTime(date: Date): string {
  const month = date.toUTCString().slice(8, 11);
  const day = String(date.getUTCDate()).padStart(2, ' ');
  return `${month} ${day} ${date.toISOString().slice(11, 19)} ${date.getUTCFullYear()} GMT`;
}

/** API Gateway's `clientCert` object for a client that presented `cert` (a test kit certificate, or a TLS peer's). */
export function clientCertOf(cert: TestCertificate | X509Certificate): ApiGatewayClientCert {
  const x509 = 'x509' in cert ? cert.x509 : cert;
  return {
    clientCertPem: x509.toString(),
    subjectDN: dn(x509.subject),
    issuerDN: dn(x509.issuer),
    serialNumber: x509.serialNumber.toLowerCase().match(/../g)!.join(':'),
    validity: { notBefore: opensslTime(new Date(x509.validFrom)), notAfter: opensslTime(new Date(x509.validTo)) },
  };
}

/** A REST API proxy integration event (payload 1.0); `clientCert` null: no mutual TLS on the domain. */
export function restEvent(clientCert: ApiGatewayClientCert | null, headers: Record<string, string> = {}) {
  return {
    resource: '/whoami',
    path: '/whoami',
    httpMethod: 'GET',
    headers: { accept: '*/*', host: 'api.example.com', ...headers },
    multiValueHeaders: Object.fromEntries(
      Object.entries({ accept: '*/*', host: 'api.example.com', ...headers }).map(([k, v]) => [k, [v]]),
    ),
    queryStringParameters: null,
    multiValueQueryStringParameters: null,
    pathParameters: null,
    stageVariables: null,
    requestContext: {
      accountId: '123456789012',
      apiId: 'a1b2c3d4e5',
      domainName: 'api.example.com',
      domainPrefix: 'api',
      extendedRequestId: 'Y2xpZW50Y2VydA=',
      httpMethod: 'GET',
      identity: {
        accessKey: null,
        accountId: null,
        caller: null,
        cognitoAuthenticationProvider: null,
        cognitoAuthenticationType: null,
        cognitoIdentityId: null,
        cognitoIdentityPoolId: null,
        principalOrgId: null,
        sourceIp: '198.51.100.7',
        user: null,
        userAgent: 'curl/8.5.0',
        userArn: null,
        clientCert,
      },
      path: '/whoami',
      protocol: 'HTTP/1.1',
      requestId: 'c6af9ac6-7b61-11e6-9a41-93e8deadbeef',
      requestTime: '07/Dec/2026:19:15:17 +0000',
      requestTimeEpoch: 1796670917135,
      resourceId: 'abc123',
      resourcePath: '/whoami',
      stage: 'prod',
    },
    body: null,
    isBase64Encoded: false,
  };
}

/** An HTTP API event, payload 2.0; `clientCert` null: no `authentication` (no mutual TLS). */
export function httpApiEvent(clientCert: ApiGatewayClientCert | null, headers: Record<string, string> = {}) {
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath: '/whoami',
    rawQueryString: '',
    headers: { accept: '*/*', host: 'api.example.com', ...headers },
    requestContext: {
      accountId: '123456789012',
      apiId: 'a1b2c3d4e5',
      ...(clientCert ? { authentication: { clientCert } } : {}),
      domainName: 'api.example.com',
      domainPrefix: 'api',
      http: {
        method: 'GET',
        path: '/whoami',
        protocol: 'HTTP/1.1',
        sourceIp: '198.51.100.7',
        userAgent: 'curl/8.5.0',
      },
      requestId: 'JKJaXmPLvHcESHA=',
      routeKey: '$default',
      stage: '$default',
      time: '07/Dec/2026:19:03:58 +0000',
      timeEpoch: 1796670238390,
    },
    isBase64Encoded: false,
  };
}

/** An HTTP API event in payload 1.0: the REST shape, `version: '1.0'`, the certificate under `identity`. */
export function httpApiV1Event(clientCert: ApiGatewayClientCert | null) {
  return { version: '1.0', ...restEvent(clientCert) };
}

/** The headers an ALB listener in verify mode adds for a client that presented `cert`. */
export function albVerifyHeaders(cert: TestCertificate): Record<string, string> {
  const iso = (date: Date): string => date.toISOString().replace(/\.\d{3}Z$/, 'Z');
  return {
    'x-amzn-mtls-clientcert-serial-number': cert.x509.serialNumber.toUpperCase(),
    'x-amzn-mtls-clientcert-issuer': dn(cert.x509.issuer),
    'x-amzn-mtls-clientcert-subject': dn(cert.x509.subject),
    'x-amzn-mtls-clientcert-validity': `NotBefore=${iso(cert.notBefore)};NotAfter=${iso(cert.notAfter)}`,
    'x-amzn-mtls-clientcert-leaf': albEscape(cert.cert),
  };
}

/** The header an ALB listener in passthrough mode adds: the whole presented chain, leaf first. */
export function albPassthroughHeaders(cert: TestCertificate): Record<string, string> {
  return { 'x-amzn-mtls-clientcert': albEscape(cert.fullChain) };
}

/** An ALB target's event; with `multiValue`, as a target group with multi-value headers on sends it. */
export function albEvent(headers: Record<string, string | string[]>, multiValue = false) {
  const all: Record<string, string | string[]> = {
    accept: '*/*',
    host: 'alb-123578498.us-east-1.elb.amazonaws.com',
    'x-amzn-trace-id': 'Root=1-5c536348-3d683b8b04734faae651f476',
    'x-forwarded-for': '198.51.100.7',
    'x-forwarded-port': '443',
    'x-forwarded-proto': 'https',
    ...headers,
  };
  const event = {
    requestContext: {
      elb: {
        targetGroupArn:
          'arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/lambda-279XGJDqGZ5rsrHC2Fjr/49e9d65c45c6791a',
      },
    },
    httpMethod: 'GET',
    path: '/whoami',
    body: '',
    isBase64Encoded: false,
  };
  if (multiValue) {
    const multiValueHeaders = Object.fromEntries(
      Object.entries(all).map(([name, value]) => [name, Array.isArray(value) ? value : [value]]),
    );
    return { ...event, multiValueQueryStringParameters: {}, multiValueHeaders };
  }
  const single = Object.fromEntries(
    Object.entries(all).map(([name, value]) => [name, Array.isArray(value) ? value.join(',') : value]),
  );
  return { ...event, queryStringParameters: {}, headers: single };
}
