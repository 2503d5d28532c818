import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { freePort } from './free-port';
import { waitUntil } from './wait-until';

export const REPO_ROOT = resolve(__dirname, '../../..');

export interface ServiceProcess {
  name: string;
  url: string;
  port: number;
  child: ChildProcess;
  logFile: string;
  /** SIGTERM and wait for exit (graceful shutdown). */
  stop(): Promise<number | null>;
  /** SIGKILL and wait for exit (crash). */
  kill(): Promise<void>;
  exited: Promise<number | null>;
}

export interface StartServiceOptions {
  env: Record<string, string>;
  /** Wait for /health/ready (default) or only for /health/live. */
  waitFor?: 'ready' | 'live' | 'none';
  timeoutMs?: number;
}

/**
 * Runs a service as its own OS process from the build output (dist/), exactly as a user runs it, on a
 * free port, logging to .cache/logs/<name>-<port>.log. Call `npm run build` first (the global setup does).
 */
export async function startServiceProcess(name: string, options: StartServiceOptions): Promise<ServiceProcess> {
  const entry = resolve(REPO_ROOT, 'dist/services', name, 'src/main.js');
  if (!existsSync(entry)) throw new Error(`${entry} is missing: run \`npm run build\` first`);
  const port = options.env.HTTP_PORT ? Number(options.env.HTTP_PORT) : await freePort();
  const logDir = resolve(REPO_ROOT, '.cache/logs');
  mkdirSync(logDir, { recursive: true });
  const logFile = resolve(logDir, `${name}-${port}.log`);
  const log = createWriteStream(logFile, { flags: 'a' });
  // FLYWHEEL_NODE_ARGS passes extra flags to every service process, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof".
  const nodeArgs = (process.env.FLYWHEEL_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const child = spawn(process.execPath, ['--enable-source-maps', ...nodeArgs, entry], {
    env: { ...process.env, ...options.env, HTTP_PORT: String(port), HTTP_HOST: '127.0.0.1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  // Two sources, one file: neither may end it (pipe's default), or the other's last chunk is a write after end
  // — an uncaught error in the test process. The file ends once the child's stdio has closed.
  child.stdout?.pipe(log, { end: false });
  child.stderr?.pipe(log, { end: false });
  child.once('close', () => log.end());
  const exited = new Promise<number | null>((resolveExit) => child.once('exit', (code) => resolveExit(code)));
  let exitCode: number | null | undefined;
  exited.then((code) => {
    exitCode = code;
  });
  const url = `http://127.0.0.1:${port}`;
  const probe = options.waitFor ?? 'ready';
  if (probe !== 'none') {
    await waitUntil(
      async () => {
        if (exitCode !== undefined) throw new Error(`${name} exited with ${exitCode}; see ${logFile}`);
        const res = await fetch(`${url}/health/${probe}`);
        return res.ok;
      },
      {
        timeoutMs: options.timeoutMs ?? 60_000,
        intervalMs: 200,
        message: `${name} did not become ${probe} (log: ${logFile})`,
      },
    ).catch((error) => {
      child.kill('SIGKILL');
      throw error;
    });
  }
  return {
    name,
    url,
    port,
    child,
    logFile,
    exited,
    stop: async () => {
      if (exitCode === undefined) child.kill('SIGTERM');
      return exited;
    },
    kill: async () => {
      if (exitCode === undefined) child.kill('SIGKILL');
      await exited;
    },
  };
}
