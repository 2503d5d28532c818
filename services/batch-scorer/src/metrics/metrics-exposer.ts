import { rename, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';

/**
 * A batch job has no Pushgateway to push to here, so its metrics leave two ways: GET /metrics on an
 * optional port while the run lasts (Prometheus scrapes it like any service), and/or one Prometheus
 * text-format file written at the end (node_exporter's textfile collector picks it up).
 */
export class MetricsExposer {
  private server?: Server;

  constructor(private readonly registry: Registry) {}

  /** Serves /metrics on host:port (0 = any free port); resolves with the port. */
  async listen(port: number, host: string): Promise<number> {
    this.server = createServer((req, res) => {
      if (req.method !== 'GET' || (req.url ?? '').split('?')[0] !== '/metrics') {
        res.writeHead(404).end();
        return;
      }
      this.registry.metrics().then(
        (text) => res.writeHead(200, { 'content-type': this.registry.contentType }).end(text),
        (error: Error) => res.writeHead(500).end(error.message),
      );
    });
    const server = this.server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => resolve());
    });
    return (server.address() as AddressInfo).port;
  }

  /** Writes the metrics atomically (temp file + rename), so a collector never reads half a file. */
  async writeFile(path: string): Promise<void> {
    const temporary = `${path}.${process.pid}.tmp`;
    await writeFile(temporary, await this.registry.metrics());
    await rename(temporary, path);
  }

  async close(): Promise<void> {
    const server = this.server;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
