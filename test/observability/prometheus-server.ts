import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { createWriteStream, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, REPO_ROOT, waitUntil } from '@flywheel/testing';

/** Whether Debian's prometheus package (prometheus + promtool) is installed; .ci/run installs it. */
export function prometheusInstalled(): boolean {
  const ok = (bin: string) => spawnSync(bin, ['--version'], { stdio: 'ignore' }).status === 0;
  return ok('prometheus') && ok('promtool');
}

export interface PromSeries {
  metric: Record<string, string>;
  values?: Array<[number, string]>;
  value?: [number, string];
}

/** An error answer of the HTTP API (e.g. a PromQL parse error: errorType bad_data). */
export class PromQueryError extends Error {}

export interface PrometheusServer {
  url: string;
  logFile: string;
  /** Instant query at `time` (seconds) or now. */
  query(expr: string, time?: number): Promise<PromSeries[]>;
  /** Range query between two instants (seconds). */
  queryRange(expr: string, start: number, end: number, stepSeconds: number): Promise<PromSeries[]>;
  /** The loaded rules as Prometheus reports them (GET /api/v1/rules). */
  rules(): Promise<Array<{ name: string; query: string; health: string; lastError?: string; type: string }>>;
  /** Scrape targets and their health (GET /api/v1/targets). */
  targets(): Promise<Array<{ labels: Record<string, string>; health: string; lastError: string }>>;
  stop(): Promise<void>;
}

/**
 * The real Prometheus binary on a free port with a data directory of its own, running `config` (a YAML
 * document; JSON is YAML). The config may point at rule files by absolute path.
 */
export async function startPrometheus(config: object): Promise<PrometheusServer> {
  const dir = mkdtempSync(join(tmpdir(), 'flywheel-prometheus-'));
  const configFile = join(dir, 'prometheus.yml');
  writeFileSync(configFile, JSON.stringify(config, null, 2));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  // next to the services' logs, kept after the run for a look at what went wrong
  mkdirSync(join(REPO_ROOT, '.cache/logs'), { recursive: true });
  const logFile = join(REPO_ROOT, '.cache/logs', `prometheus-${port}.log`);
  const log = createWriteStream(logFile);
  const child: ChildProcess = spawn(
    'prometheus',
    [
      `--config.file=${configFile}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--storage.tsdb.retention.time=1h',
      '--log.level=warn',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  // neither source may end the shared file (a write after end otherwise): it ends when the child's stdio closes
  child.stdout?.pipe(log, { end: false });
  child.stderr?.pipe(log, { end: false });
  child.once('close', () => log.end());
  let exitCode: number | null | undefined;
  const exited = new Promise<void>((done) =>
    child.once('exit', (code) => {
      exitCode = code;
      done();
    }),
  );
  await waitUntil(
    async () => {
      if (exitCode !== undefined) throw new Error(`prometheus exited with ${exitCode}; see ${logFile}`);
      return (await fetch(`${url}/-/ready`)).ok;
    },
    { timeoutMs: 30_000, intervalMs: 200, message: 'prometheus ready' },
  );

  const api = async <T>(path: string, params: Record<string, string> = {}): Promise<T> => {
    const response = await fetch(`${url}/api/v1/${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(params),
    });
    const body = (await response.json()) as { status: string; data: T; errorType?: string; error?: string };
    if (body.status !== 'success') throw new PromQueryError(`${body.errorType}: ${body.error}`);
    return body.data;
  };
  return {
    url,
    logFile,
    query: async (expr, time) =>
      (await api<{ result: PromSeries[] }>('query', { query: expr, ...(time ? { time: String(time) } : {}) })).result,
    queryRange: async (expr, start, end, step) =>
      (
        await api<{ result: PromSeries[] }>('query_range', {
          query: expr,
          start: String(start),
          end: String(end),
          step: String(step),
        })
      ).result,
    rules: async () => {
      const data = await (await fetch(`${url}/api/v1/rules`)).json();
      return (data as { data: { groups: Array<{ rules: never[] }> } }).data.groups.flatMap((g) => g.rules);
    },
    targets: async () => {
      const data = await (await fetch(`${url}/api/v1/targets`)).json();
      return (data as { data: { activeTargets: never[] } }).data.activeTargets;
    },
    stop: async () => {
      if (exitCode === undefined) child.kill('SIGTERM');
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
