import { readRepoFile, repoPath } from './repo';

type Loader = (env: NodeJS.ProcessEnv) => unknown;

const loaders = new Map<string, Loader>();

/** The service's own config loader (`load…Config` exported by services/<name>/src/config.ts). */
async function loaderOf(service: string): Promise<Loader> {
  const cached = loaders.get(service);
  if (cached) return cached;
  const module = (await import(repoPath('services', service, 'src/config.ts'))) as Record<string, unknown>;
  const found = Object.entries(module).filter(
    ([name, value]) => /^load\w*Config$/.test(name) && typeof value === 'function',
  );
  if (found.length !== 1) throw new Error(`services/${service}/src/config.ts: expected one load…Config export`);
  const loader = found[0]![1] as Loader;
  loaders.set(service, loader);
  return loader;
}

/**
 * Every variable the service's config schema reads: its loader runs on an environment that records each
 * name looked up. zod reads exactly the schema's keys, so this is the schema's variable list, shared
 * groups (libs/config) included, without parsing any source.
 */
export async function configVariables(service: string): Promise<Set<string>> {
  const load = await loaderOf(service);
  const seen = new Set<string>();
  const env = new Proxy({} as NodeJS.ProcessEnv, {
    get(target, key) {
      if (typeof key === 'string') seen.add(key);
      return Reflect.get(target, key);
    },
  });
  load(env);
  return seen;
}

/** Runs the service's real config loader on `env`; throws its ConfigError (naming each bad variable). */
export async function loadServiceConfig(
  service: string,
  env: Record<string, string>,
): Promise<Record<string, unknown>> {
  const load = await loaderOf(service);
  return load({ ...env }) as Record<string, unknown>;
}

/**
 * Variables of the topic-creation script (libs/contracts/src/scripts/create-topics.ts). It runs when imported,
 * so its zod object's keys are read from the source.
 */
export function createTopicsVariables(): Set<string> {
  const source = readRepoFile('libs/contracts/src/scripts/create-topics.ts');
  const body = /const Env = z\.object\(\{([\s\S]*?)\n\}\);/.exec(source)?.[1];
  if (!body) throw new Error('create-topics.ts: `const Env = z.object({...})` not found');
  return new Set([...body.matchAll(/^ {2}([A-Z][A-Z0-9_]*):/gm)].map((m) => m[1]!));
}
