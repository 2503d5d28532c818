import { parse } from 'yaml';
import { interpolateDeep } from './interpolate';
import { readRepoFile, serviceOfEntry } from './repo';

export interface ComposeHealthcheck {
  test?: string | string[];
  disable?: boolean;
}

export interface ComposeDependency {
  condition?: 'service_started' | 'service_healthy' | 'service_completed_successfully';
}

export interface ComposeService {
  image?: string;
  build?: string | { context?: string; dockerfile?: string };
  command?: string | string[];
  entrypoint?: string | string[];
  environment?: Record<string, unknown> | string[];
  ports?: Array<string | { target?: number; published?: string | number; host_ip?: string }>;
  volumes?: Array<string | { type?: string; source?: string; target?: string }>;
  depends_on?: string[] | Record<string, ComposeDependency>;
  healthcheck?: ComposeHealthcheck;
  deploy?: { replicas?: number };
  restart?: string;
}

export interface ComposeFile {
  name?: string;
  services: Record<string, ComposeService>;
  volumes?: Record<string, unknown>;
  [key: string]: unknown;
}

/**
 * docker-compose.yml as Compose sees it: YAML with merge keys (`<<`) resolved, duplicate keys refused, and
 * every `${VAR:-default}` interpolated with an empty environment (the defaults a fresh checkout runs with).
 */
export function loadCompose(file = 'docker-compose.yml', env: Record<string, string> = {}): ComposeFile {
  const raw = parse(readRepoFile(file), { merge: true, uniqueKeys: true, maxAliasCount: 1000 }) as ComposeFile;
  return interpolateDeep(raw, env);
}

export function commandOf(service: ComposeService): string[] {
  const command = service.command ?? [];
  return typeof command === 'string' ? command.split(/\s+/).filter(Boolean) : command;
}

/** The Flywheel service a compose service runs (from its command), if any. */
export function flywheelServiceOf(service: ComposeService): string | undefined {
  return serviceOfEntry(commandOf(service)[0]);
}

/** The environment as a name → string map; non-string values are reported, as Compose would stringify them. */
export function environmentOf(service: ComposeService): Record<string, string> {
  const env = service.environment ?? {};
  const entries = Array.isArray(env)
    ? env.map((item) => {
        const i = item.indexOf('=');
        return i < 0 ? [item, ''] : [item.slice(0, i), item.slice(i + 1)];
      })
    : Object.entries(env);
  return Object.fromEntries(
    entries.map(([name, value]) => {
      if (typeof value !== 'string') throw new Error(`environment ${name}: write ${String(value)} as a quoted string`);
      return [name, value];
    }),
  );
}

export function dependenciesOf(service: ComposeService): Record<string, ComposeDependency> {
  const deps = service.depends_on ?? {};
  return Array.isArray(deps) ? Object.fromEntries(deps.map((d) => [d, { condition: 'service_started' }])) : deps;
}

/** Host paths of bind mounts (short syntax `./a:/b[:ro]` or long syntax with type bind). */
export function bindMountSources(service: ComposeService): string[] {
  return (service.volumes ?? []).flatMap((volume) => {
    if (typeof volume === 'string') {
      const source = volume.split(':')[0]!;
      return source.startsWith('.') || source.startsWith('/') ? [source] : [];
    }
    return volume.type === 'bind' && volume.source ? [volume.source] : [];
  });
}

export interface PublishedPort {
  hostIp?: string;
  published: number;
  target: number;
}

/** `[ip:]published:target` short syntax (the only one docker-compose.yml uses). */
export function publishedPorts(service: ComposeService): PublishedPort[] {
  return (service.ports ?? []).map((port) => {
    if (typeof port !== 'string') throw new Error('use the short port syntax');
    const parts = port.split(':');
    const target = Number(parts.pop());
    const published = Number(parts.pop());
    return { hostIp: parts.pop(), published, target };
  });
}

/** The host path (relative to the repository) a container path comes from, through the service's bind mounts. */
export function hostPathOf(service: ComposeService, containerPath: string): string | undefined {
  for (const volume of service.volumes ?? []) {
    if (typeof volume !== 'string') continue;
    const [source, target] = volume.split(':') as [string, string | undefined];
    if (!target || !(source.startsWith('.') || source.startsWith('/'))) continue;
    if (containerPath === target) return source;
    if (containerPath.startsWith(`${target}/`)) return `${source}${containerPath.slice(target.length)}`;
  }
  return undefined;
}
