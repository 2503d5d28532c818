import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';

export const REPO_ROOT = resolve(__dirname, '../../..');

export function repoPath(...parts: string[]): string {
  return resolve(REPO_ROOT, ...parts);
}

export function readRepoFile(...parts: string[]): string {
  return readFileSync(repoPath(...parts), 'utf8');
}

/**
 * The long-running services: those whose `src/main.ts` starts through libs/observability's `runService`
 * (HTTP, health, metrics). Command-line packages under services/ (the `flywheel` CLI, batch-scorer) are not.
 */
export function deployableServices(): string[] {
  return readdirSync(repoPath('services'))
    .filter((name) => {
      const main = repoPath('services', name, 'src/main.ts');
      return existsSync(main) && /\brunService\(/.test(readFileSync(main, 'utf8'));
    })
    .sort();
}

/** `dist/services/<name>/src/main.js` → `<name>`; undefined for any other command. */
export function serviceOfEntry(entry: string | undefined): string | undefined {
  return /^(?:\/app\/)?dist\/services\/([^/]+)\/src\/main\.js$/.exec(entry ?? '')?.[1];
}

/** The source file a `dist/...js` path is compiled from (swc maps `<x>.ts` to `dist/<x>.js`). */
export function sourceOfDistPath(distPath: string): string {
  return distPath.replace(/^(?:\/app\/)?dist\//, '').replace(/\.js$/, '.ts');
}
