// the module itself, not the package index: the deploy checks need only this constant
import { MESH_PORTS } from '../../../libs/testing/src/mesh';
import { readRepoFile } from './repo';

/** What the local runner (`npm run mesh`, libs/testing/src/mesh.ts) gives each service. */
export interface MeshPlan {
  /** The fixed port of each service (instance 0). */
  ports: ReadonlyMap<string, number>;
  /** Names of the variables the runner gives every service. */
  commonEnv: string[];
  /** Per service, the shared variables it withholds (`delete env.X` for that service). */
  withheld: ReadonlyMap<string, string[]>;
  /** Per service, the variables only it gets (`env.X = ...` for that service). */
  extra: ReadonlyMap<string, string[]>;
}

/**
 * Ports come from the runner's exported MESH_PORTS. The variable names come from the source of its `env()`
 * method (it needs a running mesh to call); a change of that method's shape fails here loudly rather than
 * letting the comparison pass on nothing.
 */
export function readMeshPlan(): MeshPlan {
  const source = readRepoFile('libs/testing/src/mesh.ts');
  const method = /\n {2}env\(service: MeshService[^\n]*\{\n([\s\S]*?)\n {2}\}\n/.exec(source)?.[1];
  const literal = method && /const env: Record<string, string> = \{([\s\S]*?)\n {4}\};/.exec(method)?.[1];
  if (!method || !literal) throw new Error('libs/testing/src/mesh.ts: env() or its variable object not found');
  const commonEnv = [...literal.matchAll(/^\s+([A-Z][A-Z0-9_]*):/gm)].map((m) => m[1]!);
  const withheld = new Map<string, string[]>();
  const extra = new Map<string, string[]>();
  for (const block of method.matchAll(/if \(service === '([^']+)'\) \{([\s\S]*?)\n {4}\}/g)) {
    withheld.set(
      block[1]!,
      [...block[2]!.matchAll(/delete env\.([A-Z0-9_]+)/g)].map((m) => m[1]!),
    );
    extra.set(
      block[1]!,
      [...block[2]!.matchAll(/\benv\.([A-Z0-9_]+) = /g)].map((m) => m[1]!),
    );
  }
  if (commonEnv.length < 3) throw new Error('libs/testing/src/mesh.ts: env() lists too few variables to compare');
  return { ports: new Map(Object.entries(MESH_PORTS)), commonEnv, withheld, extra };
}

/**
 * How a deployment's environment for `service` differs from the local runner's: variables the runner sets
 * (and the service's config reads) that are missing, and variables the runner withholds that are set.
 */
export function differencesFromMesh(
  plan: MeshPlan,
  service: string,
  env: Record<string, string>,
  configVariables: ReadonlySet<string>,
): { missing: string[]; withheldButSet: string[] } {
  const withheld = plan.withheld.get(service) ?? [];
  const expected = [...plan.commonEnv, ...(plan.extra.get(service) ?? [])];
  const missing = expected.filter((v) => configVariables.has(v) && !withheld.includes(v) && !(v in env));
  return { missing, withheldButSet: withheld.filter((v) => v in env) };
}
