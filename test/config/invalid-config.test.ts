import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { REPO_ROOT } from '@flywheel/testing';
import { describe, expect, it } from 'vitest';

// Every service that has been built (the global setup runs `npm run build`) and starts through runService
// (services/cli is a command-line tool with usage errors of its own).
const services = readdirSync(resolve(REPO_ROOT, 'services')).filter(
  (name) =>
    existsSync(resolve(REPO_ROOT, 'dist/services', name, 'src/main.js')) &&
    readFileSync(resolve(REPO_ROOT, 'services', name, 'src/main.ts'), 'utf8').includes('runService('),
);

describe('a service started with an invalid environment', () => {
  it('finds at least one service to start', () => {
    expect(services.length).toBeGreaterThan(0);
  });

  it.each(services)('%s exits non-zero and names the bad variable', (service) => {
    const result = spawnSync(process.execPath, [resolve(REPO_ROOT, 'dist/services', service, 'src/main.js')], {
      env: { ...process.env, HTTP_PORT: 'eighty', LOG_LEVEL: 'chatty' },
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(result.status).toBe(1);
    // The reason is one ECS JSON line (what Fluent Bit ships), with the problems in error.message.
    const lines = `${result.stdout}${result.stderr}`.split('\n').filter(Boolean);
    const failure = lines.map((line) => JSON.parse(line)).find((line) => line.log?.level === 'fatal');
    expect(failure?.service?.name).toBe(service);
    expect(failure?.message).toBe(`${service} failed to start`);
    expect(failure?.error?.type).toBe('ConfigError');
    expect(failure?.error?.message).toContain('HTTP_PORT');
    expect(failure?.error?.message).toContain('"eighty"');
    expect(failure?.error?.message).toContain('LOG_LEVEL');
  });
});
