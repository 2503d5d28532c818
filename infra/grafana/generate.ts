/**
 * Writes infra/grafana/dashboards/<file>.json from the specs (the JSON is committed: Grafana provisions it
 * as is). Run after editing a spec:  npx tsx infra/grafana/generate.ts
 * test/observability checks that the committed JSON is what the specs generate.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { toGrafanaJson } from './lib/grafana';
import { allDashboards } from './specs';

const out = resolve(__dirname, 'dashboards');
mkdirSync(out, { recursive: true });
// a dashboard removed from the specs must not live on in Grafana
for (const file of readdirSync(out)) if (file.endsWith('.json')) rmSync(resolve(out, file));
for (const spec of allDashboards) {
  writeFileSync(resolve(out, `${spec.file}.json`), `${JSON.stringify(toGrafanaJson(spec), null, 2)}\n`);
}
// the repository's formatter owns the layout of JSON files (npm run lint checks them)
execFileSync(resolve(__dirname, '../../node_modules/.bin/biome'), ['format', '--write', out], { stdio: 'inherit' });
console.log(`${allDashboards.length} dashboards written to ${out}`);
