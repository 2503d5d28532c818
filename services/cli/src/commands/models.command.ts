import type { CliConfig } from '../cli-config';
import { CliError, UsageError } from '../cli-errors';
import { callService, type ServiceEndpoint } from '../http/service-http';
import type { HistoryEntry, ModelView, VersionView } from '../models/registry-api';
import { rollbackTarget } from '../models/rollback-target';
import { type CliIO, isoTime, printJson, table } from '../output';
import { type Command, intFlag, parseCommand, requireArg, subcommand } from './command';

const HELP = `
flywheel models list
flywheel models show <model> [--version <v>]
flywheel models history <model>
flywheel models promote <model> <version> [--reason <text>]
flywheel models rollback <model> [--reason <text>] [--dry-run]

The model registry (REGISTRY_URL, default = --registry). Reads are open; promote and rollback need the admin
token (--admin-token / FLYWHEEL_ADMIN_TOKEN) and are recorded with actor cli:$USER.

  list       models with their Production version, latest version and aliases
  show       a model's versions (stage, aliases, metrics); with --version one version in full
  history    every stage and alias change, oldest first
  promote    moves <version> to Production; the previous Production version is archived. stream-inference
             hot-swaps to it and the monitor watches it (a models.lifecycle.v1 event)
  rollback   promotes the version Production had before the current one (the newest version that left
             Production); twice in a row goes back again
`;

export const modelsCommand: Command = {
  name: 'models',
  help: HELP,
  async run(argv, io) {
    const parsed = parseCommand(this, argv, io, {
      version: { type: 'string' },
      reason: { type: 'string' },
      'dry-run': { type: 'boolean', default: false },
    });
    if (!parsed) return 0;
    const { values, positionals, config } = parsed;
    const action = subcommand(positionals, ['list', 'show', 'history', 'promote', 'rollback'] as const, 'models');
    const registry: ServiceEndpoint = {
      name: 'model registry',
      url: config.registryUrl,
      flag: '--registry-url',
      env: 'REGISTRY_URL',
    };
    const models = new RegistryModels(registry, config);
    if (action === 'list') return list(models, io, config);
    const name = requireArg(positionals[1], 'the model name (flywheel models list)');
    if (action === 'show') return show(models, io, config, name, intFlag('version', values.version, 1));
    if (action === 'history') return history(models, io, config, name);
    if (action === 'promote') {
      const version = intFlag(
        'version',
        requireArg(positionals[2] ?? values.version, 'the version to promote'),
        1,
      ) as number;
      const result = await models.promote(name, version, values.reason ?? 'promoted with flywheel models promote');
      report(
        io,
        config,
        result,
        result.changed
          ? `${name} v${version} is in Production`
          : `${name} v${version} already was in Production; nothing changed`,
      );
      return 0;
    }
    const model = await models.model(name);
    const target = rollbackTarget(await models.history(name), model.production_version);
    if (target === undefined) {
      throw new CliError(`${name} has no earlier Production version to roll back to (flywheel models history ${name})`);
    }
    const from = model.production_version === null ? 'nothing in Production' : `v${model.production_version}`;
    if (values['dry-run']) {
      io.err(`would roll ${name} back from ${from} to v${target} (--dry-run: nothing changed)\n`);
      if (config.json) printJson(io, { model: name, from: model.production_version, to: target, changed: false });
      return 0;
    }
    const result = await models.promote(
      name,
      target,
      values.reason ?? `rollback from ${from} with flywheel models rollback`,
    );
    report(io, config, result, `${name} rolled back from ${from} to v${target}`);
    return 0;
  },
};

class RegistryModels {
  constructor(
    private readonly registry: ServiceEndpoint,
    private readonly config: CliConfig,
  ) {}

  async list(): Promise<ModelView[]> {
    return (await callService<ModelView[]>(this.registry, 'GET', '/v1/models', { token: this.config.adminToken })).body;
  }

  async model(name: string): Promise<ModelView> {
    return (
      await callService<ModelView>(this.registry, 'GET', `/v1/models/${encodeURIComponent(name)}`, {
        token: this.config.adminToken,
      })
    ).body;
  }

  async versions(name: string): Promise<VersionView[]> {
    const path = `/v1/models/${encodeURIComponent(name)}/versions`;
    return (await callService<VersionView[]>(this.registry, 'GET', path, { token: this.config.adminToken })).body;
  }

  async version(name: string, version: number): Promise<VersionView> {
    const path = `/v1/models/${encodeURIComponent(name)}/versions/${version}`;
    return (await callService<VersionView>(this.registry, 'GET', path, { token: this.config.adminToken })).body;
  }

  async history(name: string): Promise<HistoryEntry[]> {
    const path = `/v1/models/${encodeURIComponent(name)}/history`;
    return (await callService<HistoryEntry[]>(this.registry, 'GET', path, { token: this.config.adminToken })).body;
  }

  async promote(name: string, version: number, reason: string): Promise<VersionView & { changed: boolean }> {
    if (!this.config.adminToken) {
      throw new UsageError(
        'promoting needs the registry admin token: --admin-token or FLYWHEEL_ADMIN_TOKEN (`npm run mesh` prints the local one)',
      );
    }
    const path = `/v1/models/${encodeURIComponent(name)}/versions/${version}/stage`;
    return (
      await callService<VersionView & { changed: boolean }>(this.registry, 'POST', path, {
        token: this.config.adminToken,
        actor: this.config.actor,
        body: { stage: 'Production', reason },
      })
    ).body;
  }
}

async function list(models: RegistryModels, io: CliIO, config: CliConfig): Promise<number> {
  const all = await models.list();
  if (config.json) {
    printJson(io, all);
    return 0;
  }
  if (all.length === 0) {
    io.err('no models registered yet\n');
    return 0;
  }
  const rows: Array<Array<string | number | null>> = [['MODEL', 'PRODUCTION', 'LATEST', 'ALIASES', 'UPDATED']];
  for (const m of all) {
    rows.push([m.name, m.production_version, m.latest_version, aliases(m.aliases), isoTime(m.updated_at)]);
  }
  io.out(table(rows));
  return 0;
}

async function show(
  models: RegistryModels,
  io: CliIO,
  config: CliConfig,
  name: string,
  version?: number,
): Promise<number> {
  if (version !== undefined) {
    const { baseline: _baseline, ...detail } = (await models.version(name, version)) as VersionView & {
      baseline?: unknown;
    };
    printJson(io, detail);
    return 0;
  }
  const [model, versions] = [await models.model(name), await models.versions(name)];
  if (config.json) {
    printJson(io, { ...model, versions });
    return 0;
  }
  io.out(
    `${model.name}: Production ${model.production_version === null ? 'none' : `v${model.production_version}`}, ${versions.length} version(s)\n`,
  );
  const rows: Array<Array<string | number | null>> = [
    ['VERSION', 'STAGE', 'ALIASES', 'AUC', 'FEATURE SET', 'CREATED', 'BY'],
  ];
  for (const v of versions) {
    const auc = v.metrics.auc;
    rows.push([
      v.version,
      v.stage,
      v.aliases.join(',') || null,
      typeof auc === 'number' ? auc.toFixed(3) : null,
      v.feature_set_version,
      isoTime(v.created_at),
      v.created_by,
    ]);
  }
  io.out(table(rows));
  return 0;
}

async function history(models: RegistryModels, io: CliIO, config: CliConfig, name: string): Promise<number> {
  const entries = await models.history(name);
  if (config.json) {
    printJson(io, entries);
    return 0;
  }
  const rows: Array<Array<string | number | null>> = [['WHEN', 'VERSION', 'CHANGE', 'FROM', 'TO', 'ACTOR', 'REASON']];
  for (const e of entries) {
    rows.push([
      isoTime(e.changed_at),
      e.version,
      e.alias ? `${e.change} ${e.alias}` : e.change,
      e.from_stage,
      e.to_stage,
      e.actor,
      e.reason,
    ]);
  }
  io.out(table(rows));
  return 0;
}

function report(io: CliIO, config: CliConfig, result: VersionView & { changed: boolean }, message: string): void {
  if (config.json)
    printJson(io, { model: result.model_name, version: result.version, stage: result.stage, changed: result.changed });
  else io.out(`${message}\n`);
}

function aliases(map: Record<string, number>): string | null {
  const entries = Object.entries(map);
  return entries.length ? entries.map(([alias, v]) => `${alias}=v${v}`).join(',') : null;
}
