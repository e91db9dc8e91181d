/**
 * What an invocation event says about the client certificate, as the core reads a request: the
 * few fields AWS sets, turned into headers that only this package writes, from a peer that stands
 * for the invoking service. A header a client sent is never among them for API Gateway: there the
 * certificate is in `requestContext`, which API Gateway alone writes.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { pemToDer, type RequestLike } from '@clientcert/core';

/** What invokes the function and hands it the certificate. */
export type LambdaProxy = 'api-gateway' | 'aws-alb' | 'aws-alb-passthrough';

/** The event kinds read: API Gateway REST or HTTP API payload 1.0, HTTP API payload 2.0, an ALB target's. */
export type EventKind = 'api-gateway-v1' | 'api-gateway-v2' | 'alb';

/** The synthetic header carrying API Gateway's `clientCertPem`, percent-encoded (a PEM has line breaks). */
export const API_GATEWAY_HEADER = 'x-clientcert-api-gateway-pem';
/** Set with every certificate API Gateway passed: it completed the handshake with it, so it verified it. */
export const API_GATEWAY_VERDICT_HEADER = 'x-clientcert-api-gateway-verified';
/** Stands in for the peer address: the one "peer" an event comes from is the service that invoked the function. */
export const API_GATEWAY_PEER = 'api-gateway';
export const ALB_PEER = 'aws-alb';

/** A `clientCert` object whose PEM is missing or not text: decoded, it fails as malformed. */
const NOT_A_CERTIFICATE = 'not-a-certificate';

type Record_ = Record<string, unknown>;

function isRecord(value: unknown): value is Record_ {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The kind of `event`, from the fields the service sets (`requestContext`), or null for any other event. */
export function eventKind(event: unknown): EventKind | null {
  if (!isRecord(event) || !isRecord(event.requestContext)) return null;
  const context = event.requestContext;
  if (isRecord(context.elb)) return 'alb';
  if (event.version === '2.0' && isRecord(context.http)) return 'api-gateway-v2';
  if (isRecord(context.identity)) return 'api-gateway-v1';
  return null;
}

/**
 * API Gateway's `clientCert` object: `requestContext.authentication.clientCert` (payload 2.0) or
 * `requestContext.identity.clientCert` (REST, and HTTP API payload 1.0). Null when the custom
 * domain has no mutual TLS, or the API was called on its default endpoint.
 */
function apiGatewayClientCert(event: Record_, kind: 'api-gateway-v1' | 'api-gateway-v2'): unknown {
  const context = event.requestContext as Record_;
  const holder = kind === 'api-gateway-v2' ? context.authentication : context.identity;
  return isRecord(holder) ? (holder.clientCert ?? null) : null;
}

/**
 * An API Gateway event as the core's request: the certificate in a header only this function
 * writes; the event's own headers (anything a client sent) are left out.
 */
export function apiGatewayRequest(event: Record_, kind: 'api-gateway-v1' | 'api-gateway-v2'): RequestLike {
  const clientCert = apiGatewayClientCert(event, kind);
  if (clientCert === null) return { headers: {}, remoteAddress: API_GATEWAY_PEER };
  const pem = isRecord(clientCert) ? clientCert.clientCertPem : undefined;
  const value = typeof pem === 'string' && pem !== '' ? encodeURIComponent(pem) : NOT_A_CERTIFICATE;
  return {
    headers: { [API_GATEWAY_HEADER]: value, [API_GATEWAY_VERDICT_HEADER]: 'verified' },
    remoteAddress: API_GATEWAY_PEER,
  };
}

/**
 * An ALB event as the core's request: its headers lower-cased (the ALB passes names as the client
 * wrote them), as lists with `multiValueHeaders` on, and `rawHeaders` so that a header sent twice
 * is seen as such.
 */
export function albRequest(event: Record_): RequestLike {
  const headers: IncomingHttpHeaders = {};
  const rawHeaders: string[] = [];
  const add = (name: string, value: unknown): void => {
    if (typeof value !== 'string') return;
    const key = name.toLowerCase();
    const had = headers[key];
    headers[key] = had === undefined ? value : [...(Array.isArray(had) ? had : [had]), value];
    rawHeaders.push(name, value);
  };
  if (isRecord(event.multiValueHeaders)) {
    for (const [name, values] of Object.entries(event.multiValueHeaders)) {
      if (Array.isArray(values)) for (const value of values) add(name, value);
    }
  } else if (isRecord(event.headers)) {
    for (const [name, value] of Object.entries(event.headers)) add(name, value);
  }
  return { headers, rawHeaders, remoteAddress: ALB_PEER };
}

/** The custom source's decoder: the percent-encoded PEM back to DER (a failure is `client_certificate_malformed`). */
export function decodeApiGatewayPem(value: string): Buffer {
  return pemToDer(decodeURIComponent(value));
}
