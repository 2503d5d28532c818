import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { REPO_ROOT } from '@flywheel/testing';
import { describe, expect, it } from 'vitest';

// Every service that has been built (the global setup runs `npm run build`).
const services = readdirSync(resolve(REPO_ROOT, 'services')).filter((name) =>
  existsSync(resolve(REPO_ROOT, 'dist/services', name, 'src/main.js')),
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
    expect(result.stderr).toContain('HTTP_PORT');
    expect(result.stderr).toContain('"eighty"');
    expect(result.stderr).toContain('LOG_LEVEL');
  });
});
