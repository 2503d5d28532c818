import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { topicCatalog, topics } from '@flywheel/contracts';
import Ajv2020 from 'ajv/dist/2020';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import {
  bindMountSources,
  type ComposeFile,
  commandOf,
  dependenciesOf,
  environmentOf,
  flywheelServiceOf,
  hostPathOf,
  loadCompose,
  publishedPorts,
} from './support/compose-file';
import { interpolate } from './support/interpolate';
import { differencesFromMesh, type MeshPlan, readMeshPlan } from './support/mesh-plan';
import { deployableServices, readRepoFile, repoPath, sourceOfDistPath } from './support/repo';
import { configVariables, createTopicsVariables, loadServiceConfig } from './support/service-config';

const compose = loadCompose();
const mesh: MeshPlan = readMeshPlan();
const services = Object.entries(compose.services);
/** What the image's entry point adds (infra/docker/entrypoint.sh): each container's own INSTANCE_ID. */
const FROM_ENTRYPOINT = { INSTANCE_ID: '<service>-<container hostname>' };
const flywheel = services.flatMap(([name, service]) => {
  const app = flywheelServiceOf(service);
  return app ? [{ name, app, service, env: environmentOf(service) }] : [];
});
const brokers = services.filter(([, service]) => service.image?.startsWith('apache/kafka:'));
const replicasOf = (name: string) => compose.services[name]?.deploy?.replicas ?? 1;

describe('docker-compose.yml: the Compose specification', () => {
  // strict off: the schema carries annotations of Compose's own that Ajv does not know as keywords
  const validate = new Ajv2020({ allErrors: true, strict: false }).compile(
    JSON.parse(readRepoFile('infra/schemas/compose-spec.json')),
  );

  it('is valid against the compose-spec JSON schema (infra/schemas/compose-spec.json)', () => {
    const valid = validate(compose);
    expect(validate.errors ?? [], JSON.stringify(validate.errors, null, 2)).toEqual([]);
    expect(valid).toBe(true);
  });

  it('the schema check catches a misspelt key (it is not a schema that accepts anything)', () => {
    const broken = structuredClone(compose) as ComposeFile;
    (broken.services.registry as Record<string, unknown>).helthcheck = { test: ['CMD', 'true'] };
    expect(validate(broken)).toBe(false);
  });

  it('refuses an unset required variable instead of interpolating an empty string', () => {
    // biome-ignore lint/suspicious/noTemplateCurlyInString: Compose's syntax, not a template literal
    expect(() => interpolate('${TOKEN:?set TOKEN}', {})).toThrow(/TOKEN/);
    // biome-ignore lint/suspicious/noTemplateCurlyInString: Compose's syntax, not a template literal
    expect(interpolate('a-$${x}-${Y:-d}', {})).toBe('a-${x}-d');
  });

  it('pins every image to a version', () => {
    for (const [name, service] of services) {
      expect(service.image, `${name} has no image`).toBeTruthy();
      const tag = /:([^/:]+)$/.exec(service.image!)?.[1];
      expect(tag, `${name}: ${service.image} has no tag`).toBeTruthy();
      expect(tag, `${name}: pin a version instead of latest`).not.toBe('latest');
    }
  });

  it('mounts only host paths that exist in the repository, besides Docker’s own log folder', () => {
    // Fluent Bit reads the json-file logs Docker writes on the host (infra/fluent-bit/fluent-bit.conf)
    const hostPaths = ['/var/lib/docker/containers'];
    const problems = services.flatMap(([name, service]) =>
      bindMountSources(service)
        .filter((source) => (source.startsWith('/') ? !hostPaths.includes(source) : !existsSync(repoPath(source))))
        .map((source) => `${name}: ${source}`),
    );
    expect(problems).toEqual([]);
  });

  it('finds every file a command or entrypoint names inside a mounted folder', () => {
    const missing: string[] = [];
    for (const [name, service] of services) {
      const words = [service.entrypoint ?? [], service.command ?? []].flat();
      for (const word of typeof words === 'string' ? [words] : words) {
        const host = hostPathOf(service, String(word));
        if (host && !existsSync(repoPath(host))) missing.push(`${name}: ${word} (${host})`);
      }
    }
    expect(missing).toEqual([]);
  });
});

describe('docker-compose.yml: the Flywheel services', () => {
  it('runs every deployable service, each from the repository Dockerfile', () => {
    expect(flywheel.map((s) => s.app).sort()).toEqual(deployableServices());
    expect(existsSync(repoPath('Dockerfile'))).toBe(true);
    for (const { name, service } of flywheel) {
      expect(service.build, name).toEqual({ context: '.', dockerfile: 'Dockerfile' });
      expect(service.image, name).toBe(compose.services['topic-init']!.image);
      // compose names the container after the compose service; keep them equal so DNS names are the services'
      expect(name).toBe(flywheelServiceOf(service));
    }
  });

  it('sets only variables that the service config reads, and the config accepts their values', async () => {
    for (const { app, env } of flywheel) {
      const known = await configVariables(app);
      const unknown = Object.keys(env).filter((variable) => !known.has(variable));
      expect(unknown, `${app} sets variables services/${app}/src/config.ts does not read`).toEqual([]);
      await expect(loadServiceConfig(app, { ...env, ...FROM_ENTRYPOINT }), app).resolves.toBeTruthy();
    }
  });

  it('sets every variable the local runner (libs/testing mesh.ts) gives the service, and none it withholds', async () => {
    for (const { app, env } of flywheel) {
      expect(mesh.ports.has(app), `${app} is not in the local runner`).toBe(true);
      const differences = differencesFromMesh(mesh, app, { ...env, ...FROM_ENTRYPOINT }, await configVariables(app));
      expect(differences, app).toEqual({ missing: [], withheldButSet: [] });
    }
  });

  it('listens on the local runner’s port for each service and publishes it unchanged', () => {
    for (const { app, service, env } of flywheel) {
      const port = mesh.ports.get(app)!;
      expect(env.HTTP_PORT, app).toBe(String(port));
      for (const published of publishedPorts(service)) {
        expect(published, app).toEqual({ hostIp: '127.0.0.1', published: port, target: port });
      }
    }
  });

  it('points every service URL at a compose service on that service’s port', () => {
    const portOf = (host: string): number | undefined => {
      const app = flywheel.find((s) => s.name === host);
      if (app) return Number(app.env.HTTP_PORT);
      return host === 'jaeger' ? 4318 : undefined;
    };
    for (const { app, env } of flywheel) {
      for (const [variable, value] of Object.entries(env)) {
        if (!/_URL$|_ENDPOINT$/.test(variable) || variable === 'ALERTER_EXTERNAL_URL') continue;
        const url = new URL(value);
        if (url.protocol.startsWith('postgres')) {
          expect(url.hostname, `${app} ${variable}`).toBe('postgres');
          continue;
        }
        expect(compose.services[url.hostname], `${app} ${variable}: no service ${url.hostname}`).toBeDefined();
        expect(Number(url.port), `${app} ${variable}`).toBe(portOf(url.hostname));
      }
    }
  });

  it('runs stream-inference ×3 and collector ×2, never more consumers than partitions', () => {
    expect(replicasOf('stream-inference')).toBe(3);
    expect(replicasOf('collector')).toBe(2);
    expect(replicasOf('stream-inference')).toBeLessThanOrEqual(topicCatalog[topics.featureVectors].partitions);
    // replicas cannot share a host port
    for (const { name, service } of flywheel) {
      if (replicasOf(name) > 1) expect(service.ports ?? [], name).toEqual([]);
    }
  });

  it('puts the collector replicas behind a load balancer on the collector’s mesh port', () => {
    const port = mesh.ports.get('collector')!;
    const lb = compose.services['collector-lb']!;
    expect(publishedPorts(lb)).toEqual([{ hostIp: '127.0.0.1', published: port, target: port }]);
    expect(dependenciesOf(lb).collector?.condition).toBe('service_healthy');
    const mounted = bindMountSources(lb).find((source) => source.endsWith('.conf'))!;
    const conf = readFileSync(repoPath(mounted), 'utf8');
    expect(conf).toMatch(new RegExp(`server collector:${environmentOf(compose.services.collector!).HTTP_PORT}\\b`));
    expect(conf).toMatch(new RegExp(`listen ${port};`));
    // a POST that reached a replica must not be re-sent to another one (it may already be in Kafka)
    expect(conf).not.toMatch(/non_idempotent/);
  });
});

describe('docker-compose.yml: Kafka and topics', () => {
  const env = (name: string) => environmentOf(compose.services[name]!);

  it('runs 3 KRaft nodes that form one quorum of the same cluster', () => {
    expect(brokers.map(([name]) => name).sort()).toEqual(['kafka-1', 'kafka-2', 'kafka-3']);
    const ids = brokers.map(([name]) => env(name).KAFKA_NODE_ID);
    const voters = brokers.map(([name]) => env(name).KAFKA_CONTROLLER_QUORUM_VOTERS);
    expect(new Set(voters).size).toBe(1);
    expect(
      voters[0]!
        .split(',')
        .map((v) => v.split('@')[0])
        .sort(),
    ).toEqual([...ids].sort());
    const clusterIds = new Set(brokers.map(([name]) => env(name).CLUSTER_ID));
    expect(clusterIds.size).toBe(1);
    // Kafka's Uuid: 16 bytes in base64url without padding
    expect(Buffer.from([...clusterIds][0]!, 'base64url')).toHaveLength(16);
    for (const [name] of brokers) {
      expect(env(name).KAFKA_PROCESS_ROLES, name).toBe('broker,controller');
      expect(env(name).KAFKA_ADVERTISED_LISTENERS, name).toContain(`INTERNAL://${name}:9092`);
      expect(compose.services[name]!.healthcheck?.test, name).toBeTruthy();
    }
  });

  it('keeps acknowledged writes through a broker loss: RF 3, min.insync.replicas 2, no unclean election', () => {
    for (const [name] of brokers) {
      expect(env(name), name).toMatchObject({
        KAFKA_DEFAULT_REPLICATION_FACTOR: '3',
        KAFKA_MIN_INSYNC_REPLICAS: '2',
        KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR: '3',
        KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR: '3',
        KAFKA_TRANSACTION_STATE_LOG_MIN_ISR: '2',
        KAFKA_UNCLEAN_LEADER_ELECTION_ENABLE: 'false',
        KAFKA_AUTO_CREATE_TOPICS_ENABLE: 'false',
      });
    }
    expect(env('topic-init')).toMatchObject({ TOPIC_REPLICATION_FACTOR: '3', TOPIC_MIN_INSYNC_REPLICAS: '2' });
  });

  it('creates the topics with the project’s script and only its variables', () => {
    const init = compose.services['topic-init']!;
    const entry = commandOf(init)[0]!;
    expect(entry).toBe('dist/libs/contracts/src/scripts/create-topics.js');
    expect(existsSync(repoPath(sourceOfDistPath(entry)))).toBe(true);
    const known = createTopicsVariables();
    expect(Object.keys(env('topic-init')).filter((v) => !known.has(v))).toEqual([]);
    expect(init.restart).toBe('no');
  });

  it('gives every client the three brokers on their internal listener', () => {
    const bootstrap = brokers.map(([name]) => `${name}:9092`).sort();
    for (const { app, env: vars } of [...flywheel, { app: 'topic-init', env: env('topic-init') }]) {
      expect(vars.KAFKA_BROKERS?.split(',').sort(), app).toEqual(bootstrap);
    }
  });
});

describe('docker-compose.yml: start-up order', () => {
  const graph = new Map(services.map(([name, service]) => [name, dependenciesOf(service)]));

  it('depends only on services that exist, with conditions the targets can meet', () => {
    for (const [name, deps] of graph) {
      for (const [target, { condition }] of Object.entries(deps)) {
        const dependency = compose.services[target];
        expect(dependency, `${name} → ${target}`).toBeDefined();
        if (condition === 'service_healthy') {
          const check = dependency!.healthcheck;
          expect(
            check?.test && !check.disable,
            `${name} waits for ${target} to be healthy; it has no healthcheck`,
          ).toBe(true);
        }
        if (condition === 'service_completed_successfully') expect(dependency!.restart, target).toBe('no');
      }
    }
  });

  it('has no cycle', () => {
    const state = new Map<string, 'visiting' | 'done'>();
    const visit = (name: string, path: string[]) => {
      if (state.get(name) === 'done') return;
      if (state.get(name) === 'visiting') throw new Error(`cycle: ${[...path, name].join(' → ')}`);
      state.set(name, 'visiting');
      for (const target of Object.keys(graph.get(name) ?? {})) visit(target, [...path, name]);
      state.set(name, 'done');
    };
    expect(() => {
      for (const name of graph.keys()) visit(name, []);
    }).not.toThrow();
  });

  it('starts every Flywheel service only after healthy brokers, created topics, healthy Postgres and registry', () => {
    // what a service reaches through conditions that guarantee readiness (not merely "started")
    const reached = (from: string): Set<string> => {
      const seen = new Set<string>();
      const walk = (name: string) => {
        for (const [target, { condition }] of Object.entries(graph.get(name) ?? {})) {
          if (condition === 'service_started' || seen.has(target)) continue;
          seen.add(target);
          walk(target);
        }
      };
      walk(from);
      return seen;
    };
    for (const { name } of flywheel) {
      const before = reached(name);
      for (const required of ['kafka-1', 'kafka-2', 'kafka-3', 'topic-init', 'postgres']) {
        expect(before.has(required), `${name} may start before ${required}`).toBe(true);
      }
      if (name !== 'registry') expect(graph.get(name)?.registry?.condition, name).toBe('service_healthy');
    }
  });

  it('health-checks every Flywheel service on its readiness endpoint', () => {
    for (const { name, service } of flywheel) {
      expect(service.healthcheck?.test, name).toEqual(['CMD', 'node', 'infra/docker/healthcheck.mjs', 'ready']);
    }
    expect(existsSync(repoPath('infra/docker/healthcheck.mjs'))).toBe(true);
  });
});

describe('docker-compose.yml: observability wiring', () => {
  it('has Prometheus scrape every Flywheel service on its port (infra/prometheus/prometheus.compose.yml)', () => {
    const prometheus = compose.services.prometheus!;
    const config = bindMountSources(prometheus).find((source) => source.endsWith('.yml'))!;
    const parsed = parse(readRepoFile(config)) as {
      scrape_configs: Array<{ dns_sd_configs?: Array<{ names: string[]; port: number }> }>;
    };
    const scraped = new Set(
      parsed.scrape_configs.flatMap((job) =>
        (job.dns_sd_configs ?? []).flatMap((sd) => sd.names.map((host) => `${host}:${sd.port}`)),
      ),
    );
    for (const { name, env } of flywheel) expect(scraped, name).toContain(`${name}:${env.HTTP_PORT}`);
  });

  it('mounts the Grafana dashboards where the provisioning file loads them, and the datasource is Prometheus', () => {
    const grafana = compose.services.grafana!;
    const provisioning = hostPathOf(grafana, '/etc/grafana/provisioning')!;
    const yamlFiles = (folder: string) =>
      readdirSync(repoPath(provisioning, folder))
        .filter((file) => /\.ya?ml$/.test(file))
        .map((file) => parse(readRepoFile(provisioning, folder, file)));
    const providers = yamlFiles('dashboards').flatMap(
      (f: { providers: Array<{ options: { path: string } }> }) => f.providers,
    );
    expect(providers.length).toBeGreaterThan(0);
    for (const provider of providers) {
      expect(hostPathOf(grafana, provider.options.path), provider.options.path).toBe('./infra/grafana/dashboards');
    }
    const datasources = yamlFiles('datasources').flatMap((f: { datasources: Array<{ url: string }> }) => f.datasources);
    const prometheus = publishedPorts(compose.services.prometheus!)[0]!;
    expect(datasources.map((d) => d.url)).toEqual([`http://prometheus:${prometheus.target}`]);
  });

  it('has Fluent Bit ship to the Elasticsearch service, and the Kibana import call the Kibana service', () => {
    const fluentBit = compose.services['fluent-bit']!;
    const config = readRepoFile(hostPathOf(fluentBit, commandOf(fluentBit).at(-1)!)!);
    const hosts = new Set([...config.matchAll(/^\s+Host\s+(\S+)\s*$/gm)].map((m) => m[1]));
    const ports = new Set([...config.matchAll(/^\s+Port\s+(\d+)\s*$/gm)].map((m) => Number(m[1])));
    expect([...hosts]).toEqual(['elasticsearch']);
    expect([...ports]).toEqual(publishedPorts(compose.services.elasticsearch!).map((p) => p.target));
    const kibanaUrl = new URL(environmentOf(compose.services['kibana-import']!).KIBANA_URL!);
    expect(kibanaUrl.hostname).toBe('kibana');
    expect(publishedPorts(compose.services.kibana!).map((p) => p.target)).toContain(Number(kibanaUrl.port));
  });

  it('sends traces to Jaeger’s OTLP/HTTP port', () => {
    expect(publishedPorts(compose.services.jaeger!).map((p) => p.target)).toContain(4318);
    for (const { app, env } of flywheel) expect(env.OTEL_EXPORTER_OTLP_ENDPOINT, app).toBe('http://jaeger:4318');
  });
});
