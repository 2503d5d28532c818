import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyOperands, execForm, parseDockerfile, type Stage } from './support/dockerfile';
import { dockerignoreMatcher } from './support/dockerignore';
import { readRepoFile, repoPath } from './support/repo';

const stages = parseDockerfile(readRepoFile('Dockerfile'));
const stage = (name: string): Stage => {
  const found = stages.find((s) => s.name === name);
  if (!found) throw new Error(`Dockerfile has no stage ${name}`);
  return found;
};
const runs = (s: Stage) => s.instructions.filter((i) => i.keyword === 'RUN').map((i) => i.args);
const runtime = stages.at(-1)!;
const last = (keyword: string) => runtime.instructions.filter((i) => i.keyword === keyword).at(-1);
const ignored = dockerignoreMatcher(readRepoFile('.dockerignore'));
const pkg = JSON.parse(readRepoFile('package.json')) as {
  scripts: Record<string, string>;
  optionalDependencies?: Record<string, string>;
};

describe('Dockerfile: stages', () => {
  it('builds in stages from one pinned Node base image', () => {
    expect(stages.map((s) => s.name)).toEqual(['deps', 'build', 'prod-deps', 'runtime']);
    const bases = new Set(stages.filter((s) => !stages.some((o) => o.name === s.from)).map((s) => s.from));
    expect(bases.size).toBe(1);
    const [base] = [...bases];
    expect(base).toMatch(/^node:\d+[\w.-]*$/);
    expect(base).not.toMatch(/:latest$/);
  });

  it('installs the locked dependencies and builds with the project’s build script', () => {
    expect(runs(stage('deps')).some((r) => /^npm ci\b/.test(r))).toBe(true);
    expect(stage('build').from).toBe('deps');
    expect(runs(stage('build'))).toContain('npm run build');
    expect(pkg.scripts.build).toBeTruthy();
  });

  it('ships production dependencies only, with tfjs-node’s native backend built and loaded once', () => {
    const install = runs(stage('prod-deps')).join(' && ');
    expect(install).toMatch(/npm ci --omit=dev\b/);
    expect(install).toMatch(/npm rebuild @tensorflow\/tfjs-node\b/);
    // the build fails when the binding did not install, instead of an image silently on the wasm backend
    expect(install).toContain(`require('@tensorflow/tfjs-node')`);
    expect(pkg.optionalDependencies).toHaveProperty('@tensorflow/tfjs-node');
    const copiedFrom = runtime.instructions
      .filter((i) => i.keyword === 'COPY')
      .map((i) => copyOperands(i.args))
      .filter((c) => c.flags.from)
      .map((c) => `${c.flags.from}:${c.sources.join(',')}`);
    expect(copiedFrom).toContain('prod-deps:/app/node_modules');
    expect(copiedFrom).toContain('build:/app/dist');
    expect(copiedFrom.filter((c) => c.startsWith('deps:'))).toEqual([]);
  });
});

describe('Dockerfile: the runtime image', () => {
  it('runs as a non-root user', () => {
    const user = last('USER')?.args;
    expect(user).toBeTruthy();
    expect(['root', '0', '0:0']).not.toContain(user);
  });

  it('health-checks readiness with a script that is in the image', () => {
    const check = last('HEALTHCHECK')!;
    const command = execForm(check.args)!;
    expect(command.slice(0, 2)).toEqual(['node', 'infra/docker/healthcheck.mjs']);
    expect(copiedIntoImage()).toContain('infra/docker/healthcheck.mjs');
  });

  it('starts through the entry point script, which is in the image', () => {
    const entrypoint = execForm(last('ENTRYPOINT')!.args)!;
    expect(entrypoint).toEqual(['sh', '/app/infra/docker/entrypoint.sh']);
    expect(copiedIntoImage()).toContain('infra/docker/entrypoint.sh');
  });

  it('exposes the port it sets as the default HTTP_PORT', () => {
    const env = last('ENV')!.args;
    const port = /HTTP_PORT=(\d+)/.exec(env)?.[1];
    expect(last('EXPOSE')?.args).toBe(port);
  });

  it('copies only files that exist and that .dockerignore lets into the build context', () => {
    for (const s of stages) {
      for (const copy of s.instructions.filter((i) => i.keyword === 'COPY').map((i) => copyOperands(i.args))) {
        if (copy.flags.from) continue;
        for (const source of copy.sources) {
          expect(existsSync(repoPath(source)), source).toBe(true);
          expect(ignored(source), `${source} is excluded by .dockerignore`).toBe(false);
        }
      }
    }
  });
});

describe('.dockerignore', () => {
  it('keeps local state, build output and secrets out of the context', () => {
    for (const path of ['node_modules/zod/index.js', 'dist/services/x.js', '.cache/kafka/a.jar', '.git/HEAD', '.env']) {
      expect(ignored(path), path).toBe(true);
    }
    expect(ignored('libs/kafka/src/producer/producer.spec.ts')).toBe(true);
    expect(ignored('services/collector/node_modules/x/index.js')).toBe(true);
  });

  it('lets in the sources, the Avro schemas and the lockfile', () => {
    for (const path of [
      'package.json',
      'package-lock.json',
      '.swcrc',
      'services/collector/src/main.ts',
      'libs/contracts/schemas/raw-event.avsc',
      'infra/docker/entrypoint.sh',
    ]) {
      expect(ignored(path), path).toBe(false);
    }
  });
});

describe('infra/docker/entrypoint.sh', () => {
  let bin: string;
  beforeAll(() => {
    // a stand-in `node` that prints what it was started with
    bin = mkdtempSync(join(tmpdir(), 'flywheel-entrypoint-'));
    writeFileSync(join(bin, 'node'), '#!/bin/sh\necho "INSTANCE_ID=$INSTANCE_ID"\necho "ARGS=$*"\n', { mode: 0o755 });
  });
  afterAll(() => rmSync(bin, { recursive: true, force: true }));
  const run = (args: string[], env: Record<string, string> = {}) =>
    spawnSync('sh', [repoPath('infra/docker/entrypoint.sh'), ...args], {
      env: { PATH: `${bin}:${process.env.PATH}`, ...env },
      encoding: 'utf8',
    });

  it('names each container’s instance after its service and hostname', () => {
    const result = run(['dist/services/stream-inference/src/main.js']);
    expect(result.status).toBe(0);
    const hostname = spawnSync('hostname', { encoding: 'utf8' }).stdout.trim();
    expect(result.stdout).toContain(`INSTANCE_ID=stream-inference-${hostname}`);
    expect(result.stdout).toContain('ARGS=--enable-source-maps dist/services/stream-inference/src/main.js');
  });

  it('keeps an INSTANCE_ID that was set (Kubernetes sets the pod name)', () => {
    const result = run(['dist/services/collector/src/main.js'], { INSTANCE_ID: 'collector-7f9c-abcde' });
    expect(result.stdout).toContain('INSTANCE_ID=collector-7f9c-abcde');
  });

  it('refuses to start without a command, saying how to choose a service', () => {
    const result = run([]);
    expect(result.status).toBe(64);
    expect(result.stderr).toContain('dist/services/<name>/src/main.js');
  });
});

// each case starts node processes: a deadline for a busy 2-core machine, not a performance assertion
describe('infra/docker/healthcheck.mjs', { timeout: 60_000 }, () => {
  let server: Server;
  let port: number;
  let readyStatus = 200;
  beforeAll(async () => {
    server = createServer((req, res) => {
      res.statusCode = req.url === '/health/ready' ? readyStatus : req.url === '/health/live' ? 200 : 404;
      res.end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const check = (probe?: string, httpPort = String(port)) =>
    new Promise<number | null>((resolve) => {
      const child = spawn(process.execPath, [repoPath('infra/docker/healthcheck.mjs'), ...(probe ? [probe] : [])], {
        env: { HTTP_PORT: httpPort },
        stdio: 'ignore',
      });
      child.on('exit', resolve);
    });

  it('is healthy while /health/ready answers 2xx, and not when it answers 503', async () => {
    readyStatus = 200;
    expect(await check()).toBe(0);
    readyStatus = 503;
    expect(await check()).toBe(1);
    expect(await check('live')).toBe(0);
  });

  it('is unhealthy when nothing listens, and refuses an unknown probe', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const unused = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    expect(await check('ready', String(unused))).toBe(1);
    expect(await check('started')).toBe(2);
  });
});

/** Repository paths the Dockerfile copies from the build context into the final stage. */
function copiedIntoImage(): string[] {
  return runtime.instructions
    .filter((i) => i.keyword === 'COPY')
    .map((i) => copyOperands(i.args))
    .filter((c) => !c.flags.from)
    .flatMap((c) => c.sources);
}
