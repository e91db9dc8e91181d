/**
 * OpenTelemetry over a real express server on HTTPS (port 0): the request's span (started by a
 * middleware in front, as an HTTP instrumentation would) carries the `tls.client.*` attributes of
 * an admitted certificate and ours for the outcome; a refused certificate is named by its hash
 * only; the `clientcert.decisions` counter counts by outcome, code and source. Without a provider,
 * and with `telemetry: false`, nothing is recorded and nothing fails.
 */
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { type Attributes, context, metrics, type Span, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { AggregationTemporality, MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { expect } from 'chai';
import express from 'express';
import { type ClientCertOptions, createClientCertAuth } from '../../packages/core/src/index.js';
import { envoyXfcc, type TestCA, type TestCertificate } from '../../packages/core/src/testkit/index.js';
import { clientCert } from '../../packages/express/src/index.js';
import { castOf } from '../helpers/cast.js';
import { request } from '../helpers/http-client.js';

/** A reader the test collects from on demand (no export interval). */
class CollectingReader extends MetricReader {
  constructor() {
    super({ aggregationTemporalitySelector: () => AggregationTemporality.CUMULATIVE });
  }
  protected override async onForceFlush(): Promise<void> {}
  protected override async onShutdown(): Promise<void> {}
}

interface Counted {
  attributes: Attributes;
  value: number;
}

async function decisionsCounted(reader: MetricReader): Promise<Counted[]> {
  const { resourceMetrics } = await reader.collect();
  const metric = resourceMetrics.scopeMetrics
    .flatMap((scope) => scope.metrics)
    .find((m) => m.descriptor.name === 'clientcert.decisions');
  return (metric?.dataPoints ?? []).map((point) => ({ attributes: point.attributes, value: point.value as number }));
}

describe('OpenTelemetry', () => {
  let serverRoot: TestCA;
  let root: TestCA;
  let serverCert: TestCertificate;
  let alice: TestCertificate;
  let mallory: TestCertificate;
  const servers: https.Server[] = [];

  before(async () => {
    ({ serverRoot, root, serverCert, alice, mallory } = await castOf());
  });
  after(() => {
    for (const server of servers) server.close();
  });

  /** An HTTPS express app: a span per request around everything (as HTTP instrumentation makes one), then clientCert. */
  async function serve(options: ClientCertOptions, spans: Span[] = []): Promise<string> {
    const app = express();
    app.use((_req, res, next) => {
      const span = trace.getTracer('test').startSpan('GET /whoami');
      spans.push(span);
      res.on('finish', () => span.end());
      context.with(trace.setSpan(context.active(), span), next);
    });
    app.use(clientCert({ logger: false, ca: root.cert, ...options }));
    app.get('/whoami', (req, res) => {
      res.json({ subject: req.clientCert?.subject.rfc4514 ?? null });
    });
    const server = https.createServer(
      { key: serverCert.key, cert: serverCert.cert, requestCert: true, rejectUnauthorized: false },
      app,
    );
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  function get(url: string, client?: TestCertificate) {
    return request({
      url,
      path: '/whoami',
      ca: serverRoot.cert,
      ...(client ? { cert: client.cert, key: client.key } : {}),
    });
  }

  it('with the API installed and no provider registered: nothing recorded, and the request answered as always', async () => {
    const spans: Span[] = [];
    const url = await serve({}, spans);
    const admitted = await get(url, alice);
    expect(admitted.status).to.equal(200);
    expect(JSON.parse(admitted.text)).to.deep.equal({ subject: 'CN=alice,O=Acme' });
    const refused = await get(url, mallory);
    expect(refused.status).to.equal(403);
    expect(JSON.parse(refused.text)).to.include({ code: 'client_certificate_untrusted' });
    // The no-op tracer's spans do not record: nothing to set them on.
    expect(spans.map((span) => span.isRecording())).to.deep.equal([false, false]);
  });

  it('rejects a telemetry option that is not a boolean, naming it', () => {
    expect(() => createClientCertAuth({ logger: false, telemetry: 'off' as never }))
      .to.throw(/telemetry/)
      .with.property('code', 'invalid_option');
  });

  describe('with a tracer provider and a meter provider registered', () => {
    const exporter = new InMemorySpanExporter();
    const reader = new CollectingReader();
    const contextManager = new AsyncLocalStorageContextManager();

    before(() => {
      context.setGlobalContextManager(contextManager.enable());
      trace.setGlobalTracerProvider(new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }));
      metrics.setGlobalMeterProvider(new MeterProvider({ readers: [reader] }));
    });
    // Other test files in the same process must not record (or take the traced path) because of this one.
    after(() => {
      trace.disable();
      metrics.disable();
      context.disable();
    });
    beforeEach(() => exporter.reset());

    function onlySpan(): ReadableSpan {
      const finished = exporter.getFinishedSpans();
      expect(finished).to.have.length(1);
      return finished[0]!;
    }

    it('an admitted certificate: its tls.client.* attributes and the outcome on the request span', async () => {
      const url = await serve({});
      const response = await get(url, alice);
      expect(response.status).to.equal(200);
      expect(onlySpan().attributes).to.deep.equal({
        'clientcert.outcome': 'authenticated',
        'clientcert.source': 'tls',
        'tls.client.subject': 'CN=alice,O=Acme',
        'tls.client.issuer': 'CN=Clients CA',
        'tls.client.hash.sha256': alice.sha256.toUpperCase(),
        'tls.client.not_before': alice.notBefore.toISOString(),
        'tls.client.not_after': alice.notAfter.toISOString(),
      });
    });

    it('a second request of the same client (a cached decision) is recorded the same', async () => {
      const url = await serve({});
      await get(url, alice);
      exporter.reset();
      const response = await get(url, alice);
      expect(response.status).to.equal(200);
      expect(onlySpan().attributes).to.include({
        'clientcert.outcome': 'authenticated',
        'tls.client.hash.sha256': alice.sha256.toUpperCase(),
      });
    });

    it("an attacker's certificate from a CA of their own: refused, named by its hash only, never by the subject it claims", async () => {
      const url = await serve({});
      const response = await get(url, mallory);
      expect(response.status).to.equal(403);
      expect(JSON.parse(response.text)).to.include({ code: 'client_certificate_untrusted' });
      expect(onlySpan().attributes).to.deep.equal({
        'clientcert.outcome': 'rejected',
        'clientcert.code': 'client_certificate_untrusted',
        'clientcert.source': 'tls',
        'tls.client.hash.sha256': mallory.sha256.toUpperCase(),
      });
    });

    it('a trusted certificate that principal maps to no user: recorded as the refusal the caller got', async () => {
      const url = await serve({
        principal: (certificate) => (certificate.subject.get('CN') === 'bob' ? { id: 2 } : null),
      });
      const response = await get(url, alice);
      expect(response.status).to.equal(403);
      expect(JSON.parse(response.text)).to.include({ code: 'client_certificate_rejected' });
      expect(onlySpan().attributes).to.deep.equal({
        'clientcert.outcome': 'rejected',
        'clientcert.code': 'client_certificate_rejected',
        'clientcert.source': 'tls',
        'tls.client.hash.sha256': alice.sha256.toUpperCase(),
      });
    });

    it('no certificate at all: the outcome and code, no tls.client.* attributes', async () => {
      const url = await serve({});
      const response = await get(url);
      expect(response.status).to.equal(403);
      expect(onlySpan().attributes).to.deep.equal({
        'clientcert.outcome': 'rejected',
        'clientcert.code': 'client_certificate_required',
      });
    });

    it('counts decisions by outcome, code and source in clientcert.decisions', async () => {
      // A configuration of its own, so that its counts are told apart by source: XFCC from a trusted proxy.
      const url = await serve({ source: 'xfcc', trustProxy: 'loopback' });
      const xfcc = (certificate: TestCertificate) =>
        request({
          url,
          path: '/whoami',
          ca: serverRoot.cert,
          headers: { 'x-forwarded-client-cert': envoyXfcc(certificate) },
        });
      const before = await decisionsCounted(reader);
      expect((await xfcc(alice)).status).to.equal(200);
      expect((await xfcc(alice)).status).to.equal(200);
      expect((await xfcc(mallory)).status).to.equal(403);
      const counted = (await decisionsCounted(reader)).filter(
        (point) => point.attributes['clientcert.source'] === 'xfcc',
      );
      const earlier = before.filter((point) => point.attributes['clientcert.source'] === 'xfcc');
      expect(earlier).to.deep.equal([]);
      expect(counted).to.have.deep.members([
        { attributes: { 'clientcert.outcome': 'authenticated', 'clientcert.source': 'xfcc' }, value: 2 },
        {
          attributes: {
            'clientcert.outcome': 'rejected',
            'clientcert.code': 'client_certificate_untrusted',
            'clientcert.source': 'xfcc',
          },
          value: 1,
        },
      ]);
    });

    it('telemetry: false records nothing on the span and counts nothing', async () => {
      const url = await serve({ telemetry: false, source: 'xfcc', trustProxy: 'loopback', mode: 'accept' });
      const before = await decisionsCounted(reader);
      const response = await request({
        url,
        path: '/whoami',
        ca: serverRoot.cert,
        headers: { 'x-forwarded-client-cert': envoyXfcc(alice) },
      });
      expect(response.status).to.equal(200);
      expect(JSON.parse(response.text)).to.deep.equal({ subject: 'CN=alice,O=Acme' });
      expect(onlySpan().attributes).to.deep.equal({});
      expect(await decisionsCounted(reader)).to.deep.equal(before);
    });
  });
});
