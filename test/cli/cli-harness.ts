import { type ChildProcess, spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { type CatalogTopicName, ensureTopics } from '@flywheel/contracts';
import { createKafkaClient } from '@flywheel/kafka';
import { REPO_ROOT, waitUntil } from '@flywheel/testing';
import type { Kafka } from 'kafkajs';

/** The built CLI, run exactly as a user runs it (the global setup builds dist/). */
export const CLI = resolve(REPO_ROOT, 'dist/services/cli/src/main.js');

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `flywheel <args>` to completion with `stdin` piped in (or closed); fails the test after timeoutMs. */
export function flywheel(
  args: string[],
  options: { env?: Record<string, string>; stdin?: string; timeoutMs?: number } = {},
): Promise<CliRun> {
  const child = start(args, options.env);
  child.stdin?.end(options.stdin ?? '');
  return finished(child, args, options.timeoutMs ?? 60_000);
}

/** A CLI process left running (e.g. `consume --follow`): read its output as it comes, wait for its end. */
export function flywheelInBackground(args: string[], env?: Record<string, string>) {
  const child = start(args, env);
  child.stdin?.end();
  const output = { stdout: '', stderr: '' };
  child.stdout?.on('data', (chunk: Buffer) => (output.stdout += chunk.toString('utf8')));
  child.stderr?.on('data', (chunk: Buffer) => (output.stderr += chunk.toString('utf8')));
  const exited = new Promise<number | null>((done) => child.once('exit', (code) => done(code)));
  return {
    output,
    exited,
    kill: () => child.kill('SIGKILL'),
  };
}

function start(args: string[], env: Record<string, string> = {}): ChildProcess {
  return spawn(process.execPath, [CLI, ...args], {
    // A clean environment apart from what the test passes: no KAFKA_BROKERS etc. leaking in from the shell.
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', USER: 'cli-test', ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
}

function finished(child: ChildProcess, args: string[], timeoutMs: number): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  return new Promise((resolveRun, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`flywheel ${args.join(' ')} did not finish within ${timeoutMs} ms; stderr: ${stderr}`));
    }, timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolveRun({ code, stdout, stderr });
    });
  });
}

/** Lines of stdout parsed as JSON (what `flywheel consume` prints). */
export function jsonLines<T = Record<string, unknown>>(stdout: string): T[] {
  return stdout
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as T);
}

/** Creates the given catalog topics under `prefix` (idempotent; a just-started broker may need a second try). */
export async function createTopics(brokers: string, prefix: string, only: CatalogTopicName[]): Promise<Kafka> {
  const kafka = createKafkaClient({ brokers: brokers.split(','), clientId: 'cli-test' });
  const admin = kafka.admin();
  await admin.connect();
  try {
    const { created, existing } = await waitUntil(
      () => ensureTopics(admin, { prefix, only, logger: { info: () => undefined, warn: () => undefined } }),
      { timeoutMs: 30_000, intervalMs: 500, message: 'topics created' },
    );
    // Right after creation the broker can still answer "does not host this topic-partition" to metadata
    // requests; clients that subscribe at once would fail on it.
    await waitUntil(() => admin.fetchTopicMetadata({ topics: [...created, ...existing] }), {
      timeoutMs: 30_000,
      intervalMs: 250,
      message: 'metadata of the new topics',
    });
  } finally {
    await admin.disconnect();
  }
  return kafka;
}

/** Sum of the high watermarks of a topic: unchanged means nothing was written. */
export async function endOffset(kafka: Kafka, topic: string): Promise<number> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    return (await admin.fetchTopicOffsets(topic)).reduce((sum, p) => sum + Number(p.high), 0);
  } finally {
    await admin.disconnect();
  }
}
