/**
 * @hono/node-server's `serve`, leaving the process's global `Request` and `Response` alone unless
 * told otherwise: by default it replaces them for good, and every test file runs in one process.
 */
import * as nodeServer from '@hono/node-server';

export type { Context } from 'hono';
export { Hono } from 'hono';

export const serve: typeof nodeServer.serve = (options, onListening) =>
  nodeServer.serve({ overrideGlobalObjects: false, ...options }, onListening);
