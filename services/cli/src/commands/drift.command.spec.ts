import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { DriftReport } from '@flywheel/contracts';
import { afterEach, describe, expect, it } from 'vitest';
import type { CliIO } from '../output';
import { driftCommand } from './drift.command';

const report: DriftReport = {
  report_id: '7c1e1f3a-0000-4000-8000-000000000001',
  model_name: 'payments-fraud',
  model_version: 3,
  window: { start: Date.parse('2026-01-01T10:00:00Z'), end: Date.parse('2026-01-01T10:05:00Z'), samples: 2000 },
  features: [
    { feature: 'amount_base', psi: 0.0123, ks_statistic: 0.031, ks_p_value: 0.52, chi2: 4.1, js: 0.02, drifted: false },
    { feature: 'account_age_days', psi: 0.913, ks_statistic: 0.41, ks_p_value: 0, chi2: 812, js: 0.33, drifted: true },
  ],
  score: { psi: 0.2, ks_statistic: 0.12, ks_p_value: 0.001, drifted: false },
  quality: { auc: 0.912, precision: 0.7, recall: 0.55, ece: 0.031, labelled_samples: 800, positives: 40 },
  emitted_at: Date.parse('2026-01-01T10:05:01Z'),
};

let server: Server | undefined;

/** A stand-in monitor answering GET /v1/drift with `status` and `body`. */
async function monitor(status: number, body: unknown): Promise<string> {
  const listening = createServer((_req, res) => {
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  });
  server = listening;
  await new Promise<void>((resolve) => listening.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(listening.address() as AddressInfo).port}`;
}

function capture(): CliIO & { stdout: string; stderr: string } {
  const io = { stdout: '', stderr: '', out: (t: string) => (io.stdout += t), err: (t: string) => (io.stderr += t) };
  return io;
}

afterEach(async () => {
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  server = undefined;
});

describe('flywheel drift', () => {
  it('prints the watched version, the drifted features, the score and live quality', async () => {
    const io = capture();
    expect(await driftCommand.run(['--monitor', await monitor(200, report)], io)).toBe(0);
    expect(io.stdout).toContain(
      'payments-fraud v3: window 2026-01-01T10:00:00.000Z .. 2026-01-01T10:05:00.000Z, 2000 samples; DRIFTED: account_age_days',
    );
    expect(io.stdout).toMatch(/account_age_days\s+0\.913\s+0\.410\s+0\.0000\s+0\.330\s+yes/);
    expect(io.stdout).toMatch(/amount_base\s+0\.012\s+0\.031\s+0\.5200\s+0\.020\s+no/);
    expect(io.stdout).toMatch(/\(score\)\s+0\.200\s+0\.120\s+0\.0010\s+-\s+no/);
    expect(io.stdout).toContain(
      'live quality over 800 labelled (40 fraud): AUC 0.912, precision 0.700, recall 0.550, ECE 0.031',
    );
  });

  it('--json prints the report as the monitor gave it', async () => {
    const io = capture();
    expect(await driftCommand.run(['--json', '--monitor', await monitor(200, report)], io)).toBe(0);
    expect(JSON.parse(io.stdout)).toEqual(report);
  });

  it('before the first full window: says so, exit 0', async () => {
    const io = capture();
    expect(await driftCommand.run(['--monitor', await monitor(404, { message: 'no drift report yet' })], io)).toBe(0);
    expect(io.stdout).toBe('');
    expect(io.stderr).toContain('no drift report yet');
  });

  it('a monitor error is reported with its status and message', async () => {
    const url = await monitor(500, { statusCode: 500, message: 'boom' });
    await expect(driftCommand.run(['--monitor', url], capture())).rejects.toThrow(
      `the monitor answered HTTP 500 to GET ${url}/v1/drift: boom`,
    );
  });
});
