import https from 'node:https';
import type { Duplex } from 'node:stream';
import type { ConnectionOptions } from 'node:tls';
import { Agent, type buildConnector, type Dispatcher } from 'undici';
import { type CredentialInput, type CredentialProvider, toProvider } from './provider.js';

/** Trust for the backend's server certificate, shared by both transports. */
export interface BackendTlsOptions {
  /** CA certificates (PEM) that the backend's certificate must chain to. Default: Node's built-in roots. */
  ca?: string | Buffer | Array<string | Buffer>;
  /** Verify the backend's certificate. Default true; turning it off defeats mTLS. */
  rejectUnauthorized?: boolean;
  /** SNI / name to check the backend's certificate against. Default: the URL's host name. */
  servername?: string;
}

export interface DispatcherOptions extends Omit<Agent.Options, 'connect'>, BackendTlsOptions {
  /** Further TLS / socket options for undici's connector (timeout, minVersion, ...). */
  connect?: Partial<buildConnector.BuildOptions>;
}

const kCredentialAgent = Symbol('clientcert.agent');

/**
 * An undici `Agent` that presents a client certificate. Each credential version gets its own
 * inner Agent (its own pools and TLS session cache); on rotation new requests go to a new one and
 * the old one is closed gracefully, so requests in flight finish on their connection and no
 * kept-alive connection or resumed session goes on presenting the old certificate.
 */
export class ClientCertDispatcher extends Agent {
  readonly [kCredentialAgent] = true;
  readonly #provider: CredentialProvider;
  readonly #options: DispatcherOptions;
  #inner: Agent;
  #retired = new Set<Agent>();
  #shut = false;

  constructor(input: CredentialInput, options: DispatcherOptions = {}) {
    super(options as Agent.Options);
    this.#provider = toProvider(input);
    this.#options = options;
    this.#inner = this.#build();
    this.#provider.onRotate(() => this.#rotate());
  }

  /** The certificate new connections present. */
  get credential() {
    return this.#provider.current();
  }

  #build(): Agent {
    const { ca, rejectUnauthorized, servername, connect, ...agentOptions } = this.#options;
    const tls = this.#provider.current().tlsOptions();
    const connectOptions: Record<string, unknown> = {
      ...connect,
      rejectUnauthorized: rejectUnauthorized ?? true,
      ...(ca === undefined ? {} : { ca }),
      ...(servername === undefined ? {} : { servername }),
      cert: tls.cert,
      key: tls.key,
    };
    return new Agent({ ...agentOptions, connect: connectOptions as buildConnector.BuildOptions });
  }

  #rotate(): void {
    if (this.#shut) return;
    const old = this.#inner;
    this.#inner = this.#build();
    this.#retired.add(old);
    // close() waits for requests in flight, then ends the connections.
    old
      .close()
      .catch(() => undefined)
      .finally(() => this.#retired.delete(old));
  }

  override dispatch(options: Agent.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean {
    if (this.#shut) return super.dispatch(options, handler); // reports ClientClosedError / destroyed
    return this.#inner.dispatch(options, handler);
  }

  #stop(how: (agent: Agent) => Promise<void>): Promise<void> {
    this.#shut = true;
    this.#provider.close();
    return Promise.all([this.#inner, ...this.#retired].map((a) => how(a).catch(() => undefined))).then(() => undefined);
  }

  override close(): Promise<void>;
  override close(callback: () => void): void;
  override close(callback?: () => void): Promise<void> | void {
    // undici's promise forms call back into the callback forms, so only these do the work.
    if (!callback) return new Promise<void>((resolve) => this.close(resolve));
    void this.#stop((a) => a.close()).then(() => super.close(callback));
  }

  override destroy(): Promise<void>;
  override destroy(err: Error | null): Promise<void>;
  override destroy(callback: () => void): void;
  override destroy(err: Error | null, callback: () => void): void;
  override destroy(a?: Error | null | (() => void), b?: () => void): Promise<void> | void {
    const err = typeof a === 'function' ? null : (a ?? null);
    const callback = typeof a === 'function' ? a : b;
    if (!callback) return new Promise<void>((resolve) => this.destroy(err, resolve));
    void this.#stop((x) => x.destroy(err)).then(() => super.destroy(err, callback));
  }
}

/**
 * An undici dispatcher presenting the client certificate, for `fetch(url, { dispatcher })`
 * (undici's fetch), `undici.request(url, { dispatcher })`, or `setGlobalDispatcher`.
 */
export function createDispatcher(credential: CredentialInput, options: DispatcherOptions = {}): ClientCertDispatcher {
  return new ClientCertDispatcher(credential, options);
}

export type HttpsAgentOptions = https.AgentOptions & BackendTlsOptions;

const kVersion = Symbol('clientcert.version');

/**
 * An `https.Agent` presenting the client certificate. The certificate is read when each
 * connection is made; after a rotation idle sockets are destroyed, busy ones are not reused once
 * their request ends, and the TLS session cache is keyed by credential version.
 */
export class ClientCertHttpsAgent extends https.Agent {
  readonly #provider: CredentialProvider;

  constructor(input: CredentialInput, options: HttpsAgentOptions = {}) {
    super({ keepAlive: true, ...options, rejectUnauthorized: options.rejectUnauthorized ?? true });
    this.#provider = toProvider(input);
    this.#provider.onRotate(() => {
      for (const sockets of Object.values(this.freeSockets)) for (const socket of sockets ?? []) socket.destroy();
    });
  }

  get credential() {
    return this.#provider.current();
  }

  override getName(options?: Parameters<https.Agent['getName']>[0]): string {
    return `${super.getName(options)}:clientcert-v${this.#provider.version()}`;
  }

  // Node's https.Agent#createConnection(options) returns the TLS socket synchronously.
  override createConnection(
    options: https.RequestOptions,
    callback?: (err: Error | null, socket: Duplex) => void,
  ): Duplex | null | undefined {
    const tls = this.#provider.current().tlsOptions();
    const version = this.#provider.version();
    const socket = super.createConnection(
      { ...options, cert: tls.cert, key: tls.key } as https.RequestOptions & ConnectionOptions,
      callback,
    );
    if (socket) (socket as Duplex & { [kVersion]?: number })[kVersion] = version;
    return socket;
  }

  override keepSocketAlive(socket: Parameters<https.Agent['keepSocketAlive']>[0]): boolean {
    if ((socket as unknown as { [kVersion]?: number })[kVersion] !== this.#provider.version()) return false;
    return super.keepSocketAlive(socket) as unknown as boolean; // @types/node says void; Node returns a boolean
  }

  override destroy(): void {
    this.#provider.close();
    super.destroy();
  }

  /** Same as destroy(): stops the credential watcher this agent owns and closes its sockets. */
  close(): void {
    this.destroy();
  }
}

/** An `https.Agent` presenting the client certificate, for `https.request(url, { agent })` and libraries that take one. */
export function createHttpsAgent(credential: CredentialInput, options: HttpsAgentOptions = {}): ClientCertHttpsAgent {
  return new ClientCertHttpsAgent(credential, options);
}
