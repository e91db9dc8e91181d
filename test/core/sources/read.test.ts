import type { Socket } from 'node:net';
import { expect } from 'chai';
import {
  countLines,
  headless,
  hostIsServerName,
  peerAddress,
  resolveSource,
} from '../../../packages/core/src/sources/read.js';

const tlsSocket = (servername?: string) =>
  ({ encrypted: true, remoteAddress: '10.0.0.1', servername }) as unknown as Socket;
const plainSocket = { encrypted: false, remoteAddress: '127.0.0.1' } as unknown as Socket;

describe('sources/read', () => {
  it('resolveSource: auto is the TLS peer on a TLS connection, else the forwarded header; other sources are themselves', () => {
    expect(resolveSource('auto', tlsSocket(), 'xfcc')).to.equal('tls');
    expect(resolveSource('auto', plainSocket, 'xfcc')).to.equal('xfcc');
    expect(resolveSource('auto', undefined, 'xfcc')).to.equal('xfcc');
    expect(resolveSource('xfcc', tlsSocket(), 'xfcc')).to.equal('xfcc');
  });

  it('hostIsServerName: the Host (or :authority) must name the TLS server name, ports and brackets aside', () => {
    const request = (host: string) => ({ headers: { host } });
    expect(hostIsServerName(request('api.example.com:8443'), tlsSocket('API.example.com'))).to.equal(true);
    expect(hostIsServerName({ headers: { ':authority': '[::1]:443' } }, tlsSocket('::1'))).to.equal(true);
    // A certificate verified for one server name is not evidence for a request to another host.
    expect(hostIsServerName(request('admin.example.com'), tlsSocket('api.example.com'))).to.equal(false);
    expect(hostIsServerName({ headers: {} }, tlsSocket('api.example.com'))).to.equal(false);
    expect(hostIsServerName(request('anything'), tlsSocket())).to.equal(true);
  });

  it('countLines counts a header sent twice under any case (a second line is not the proxy’s)', () => {
    expect(
      countLines(
        ['X-Forwarded-Client-Cert', 'a', 'host', 'h', 'x-forwarded-client-cert', 'b'],
        'x-forwarded-client-cert',
      ),
    ).to.equal(2);
    expect(countLines(['Host', 'h'], 'x-forwarded-client-cert')).to.equal(0);
  });

  it('headless keeps the connection of a request without headers; peerAddress prefers the socket', () => {
    expect(headless(null)).to.deep.equal({ socket: null, stream: null, remoteAddress: undefined, headers: {} });
    expect(headless({ socket: plainSocket }).socket).to.equal(plainSocket);
    expect(peerAddress(plainSocket, { headers: {}, remoteAddress: '10.9.9.9' })).to.equal('127.0.0.1');
    expect(peerAddress(undefined, { headers: {}, remoteAddress: '10.9.9.9' })).to.equal('10.9.9.9');
  });
});
