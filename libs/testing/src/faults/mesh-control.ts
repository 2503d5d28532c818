import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { KafkaState } from '../kafka-runner';
import { ensureClusterWhole } from './fault-infra';
import type { FaultMesh } from './fault-mesh';
import { answersReady, type MeshServiceName, type ServiceEndpoint } from './mesh-service';
import type { OwnedPostgres } from './owned-postgres';

/** What a scenario file learns about the shared mesh. */
export interface MeshInfo {
  prefix: string;
  databaseUrl: string;
  /** Producer API key for the collectors. */
  apiKey: string;
  registryUrl: string;
  /** Log files of every process the mesh ran (restarts included). */
  logFiles: string[];
  services: Array<{ id: string; name: MeshServiceName; instance: number; url: string; pid?: number; running: boolean }>;
}

export type ServiceAction = 'kill' | 'stop' | 'start';

/**
 * The mesh's processes belong to the process that started them (the faults global setup), which also stops them
 * all at the end; scenario files run in vitest workers and act on them through this small HTTP API on 127.0.0.1:
 *
 *   GET  /mesh                        → MeshInfo
 *   POST /services/{id}/{kill|stop|start}   (start waits for readiness; answers { ms })
 *   POST /postgres/{stop|start}
 *   POST /heal                        → start whatever is down (brokers, Postgres, services), so a file that
 *                                       failed half-way does not leave the next one a broken mesh
 */
export async function startMeshControl(mesh: FaultMesh, postgres: OwnedPostgres, kafka: KafkaState): Promise<Server> {
  const info = (): MeshInfo => ({
    prefix: mesh.prefix,
    databaseUrl: mesh.databaseUrl,
    apiKey: mesh.apiKey,
    registryUrl: mesh.registry.url,
    logFiles: mesh.services.flatMap((s) => [...s.logFiles]),
    services: mesh.services.map((s) => ({
      id: s.id,
      name: s.name,
      instance: s.instance,
      url: s.url,
      pid: s.pid,
      running: s.running,
    })),
  });
  const actions: Record<string, () => Promise<unknown>> = {
    'postgres/stop': () => postgres.stop(),
    'postgres/start': () => postgres.start(),
    heal: async () => {
      const brokers = await ensureClusterWhole(kafka);
      await postgres.start();
      const services: string[] = [];
      for (const service of mesh.services) {
        if (!service.running) {
          await service.start();
          services.push(service.id);
        }
      }
      await mesh.waitAllReady();
      return { brokers, services };
    },
  };
  const server = createServer((req, res) => {
    const path = (req.url ?? '').replace(/^\//, '');
    const reply = (status: number, body: unknown) =>
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    if (req.method === 'GET' && path === 'mesh') return reply(200, info());
    const serviceAction = /^services\/([^/]+)\/(kill|stop|start)$/.exec(path);
    const action = serviceAction
      ? async () => {
          const service = mesh.services.find((s) => s.id === decodeURIComponent(serviceAction[1]));
          if (!service) throw new Error(`no service ${serviceAction[1]}`);
          const verb = serviceAction[2] as ServiceAction;
          return verb === 'kill' ? service.kill() : verb === 'stop' ? service.stop() : service.start();
        }
      : actions[path];
    if (req.method !== 'POST' || !action) return reply(404, { error: `no ${req.method} ${path}` });
    const started = Date.now();
    action().then(
      (result) => reply(200, { ms: Date.now() - started, result: result ?? null }),
      (error: Error) => reply(500, { error: error.message }),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}

export function controlUrl(server: Server): string {
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** The scenario side of MeshControl. */
export class MeshControlClient {
  constructor(readonly url: string) {}

  async info(): Promise<MeshInfo> {
    return (await this.call('GET', 'mesh')) as MeshInfo;
  }

  /** SIGKILL, SIGTERM (waits for the exit) or start (waits for readiness) of one instance; answers how long it took. */
  async service(id: string, action: ServiceAction): Promise<number> {
    return ((await this.call('POST', `services/${encodeURIComponent(id)}/${action}`)) as { ms: number }).ms;
  }

  async postgres(action: 'stop' | 'start'): Promise<number> {
    return ((await this.call('POST', `postgres/${action}`)) as { ms: number }).ms;
  }

  async heal(): Promise<{ brokers: number[]; services: string[] }> {
    return ((await this.call('POST', 'heal')) as { result: { brokers: number[]; services: string[] } }).result;
  }

  private async call(method: string, path: string): Promise<unknown> {
    const response = await fetch(`${this.url}/${path}`, { method });
    const body = (await response.json()) as { error?: string };
    if (!response.ok) throw new Error(`mesh control ${method} /${path}: ${body.error ?? response.status}`);
    return body;
  }
}

/** A service of the shared mesh as the scenario sees it (an address and a readiness probe). */
export function endpoint(service: { id: string; url: string }): ServiceEndpoint {
  return { id: service.id, url: service.url, ready: () => answersReady(service.url) };
}
