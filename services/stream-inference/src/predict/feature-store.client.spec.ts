import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FeatureStoreClient, FeatureStoreError } from './feature-store.client';

describe('FeatureStoreClient against a local fake online store', () => {
  let server: Server;
  let url: string;

  beforeAll(async () => {
    server = createServer((req, res) => {
      if (req.url === '/v1/features/acct%201') {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ entity: 'acct 1', feature_set_version: '3', features: { a: 1.5, b: 0 } }));
      } else if (req.url === '/v1/features/slow') {
        setTimeout(() => res.writeHead(200).end('{}'), 1_000);
      } else if (req.url === '/v1/features/broken') {
        res.writeHead(500).end('boom');
      } else if (req.url === '/v1/features/garbage') {
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"features": {"a": "x"}}');
      } else {
        res.writeHead(404).end();
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  const reason = async (promise: Promise<unknown>) => {
    try {
      await promise;
    } catch (error) {
      expect(error).toBeInstanceOf(FeatureStoreError);
      return (error as FeatureStoreError).reason;
    }
    throw new Error('expected a FeatureStoreError');
  };

  it('reads an entity (URL-encoded) and returns its features', async () => {
    const online = await new FeatureStoreClient(url, 500).features('acct 1');
    expect(online).toEqual({ entity: 'acct 1', feature_set_version: '3', features: { a: 1.5, b: 0 } });
  });

  it('maps timeouts, refusals, errors, bad bodies and unknown entities to distinct reasons', async () => {
    const client = new FeatureStoreClient(url, 100);
    const started = Date.now();
    expect(await reason(client.features('slow'))).toBe('timeout');
    expect(Date.now() - started).toBeLessThan(900);
    expect(await reason(client.features('broken'))).toBe('bad-response');
    expect(await reason(client.features('garbage'))).toBe('bad-response');
    expect(await reason(client.features('nobody'))).toBe('not-found');
    // a port nothing listens on
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    expect(await reason(new FeatureStoreClient(`http://127.0.0.1:${port}`, 500).features('x'))).toBe('unreachable');
    expect(await reason(new FeatureStoreClient(undefined, 500).features('x'))).toBe('not-configured');
  });
});
