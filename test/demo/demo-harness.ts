import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { schemaFor } from '@flywheel/contracts';
import { AvroSerde } from '@flywheel/kafka';
import { REPO_ROOT } from '@flywheel/testing';
import { type Consumer, Kafka, logLevel } from 'kafkajs';

/** What `npm run demo` writes to .cache/demo/<name>/demo.json once everything runs. */
export interface DemoState {
  name: string;
  pid: number;
  kafka: { bootstrapServers: string; brokers: { pid: number; port: number; controllerPort: number }[] };
  services: { name: string; instance: number; url: string; port: number; pid: number }[];
  apiKey: string;
  model: string;
}

export interface DemoExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface DemoProcess {
  child: ChildProcess;
  output: string[];
  exited: Promise<DemoExit>;
  /** undefined while it runs. */
  exit(): DemoExit | undefined;
}

/**
 * Starts `npm run demo -- <args>` in its own process group, as a terminal would run it. (Until package.json has
 * the `demo` script, the command it will run: `tsx scripts/demo/main.ts`.)
 */
export function spawnDemo(args: string[]): DemoProcess {
  const scripts = (
    JSON.parse(readFileSync(resolve(REPO_ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }
  ).scripts;
  const [command, ...commandArgs] = scripts.demo
    ? ['npm', 'run', '--silent', 'demo', '--', ...args]
    : [process.execPath, '--import', 'tsx', 'scripts/demo/main.ts', ...args];
  const child = spawn(command, commandArgs, {
    cwd: REPO_ROOT,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, FORCE_COLOR: '0' },
  });
  const output: string[] = [];
  const collect = (chunk: Buffer) => output.push(...chunk.toString().split('\n').filter(Boolean));
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  let result: DemoExit | undefined;
  const exited = new Promise<DemoExit>((resolveExit) =>
    // 'close', not 'exit': npm may exit on SIGINT before the demo it started has finished stopping; the
    // output pipe closes only when every process holding it (the demo too) is gone and its last lines are read
    child.once('close', (code, signal) => {
      result = { code, signal };
      resolveExit(result);
    }),
  );
  return { child, output, exited, exit: () => result };
}

export function stateFileOf(name: string): string {
  return resolve(REPO_ROOT, '.cache/demo', name, 'demo.json');
}

export function readState(name: string): DemoState | null {
  const file = stateFileOf(name);
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as DemoState) : null;
}

/** Pids of every live process in a process group (Linux /proc). */
export function processGroupMembers(pgid: number): number[] {
  const members: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // "pid (comm) state ppid pgrp …": comm may hold spaces and parentheses, so split after the last ')'
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[2]) === pgid && fields[0] !== 'Z') members.push(Number(entry));
    } catch {
      // the process ended while we looked
    }
  }
  return members;
}

/** True while a process with this pid exists and is not a zombie. */
export function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

/** Reads whole topics from the beginning in the background, decoded; `items(topic)` grows as records arrive. */
export class TopicReader {
  private readonly kafka: Kafka;
  private readonly serde: AvroSerde;
  private readonly consumers: Consumer[] = [];
  private readonly received = new Map<string, unknown[]>();

  constructor(brokers: string, registryUrl: string) {
    this.kafka = new Kafka({ clientId: 'demo-test', brokers: brokers.split(','), logLevel: logLevel.NOTHING });
    this.serde = AvroSerde.connect(registryUrl, schemaFor);
  }

  async follow(topic: string): Promise<void> {
    const consumer = this.kafka.consumer({ groupId: `demo-test-${randomUUID()}`, maxWaitTimeInMs: 200 });
    this.consumers.push(consumer);
    this.received.set(topic, []);
    await consumer.connect();
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch }) => {
        const list = this.received.get(topic) as unknown[];
        for (const m of batch.messages) list.push(await this.serde.decode(topic, m.value));
      },
    });
  }

  items<T>(topic: string): T[] {
    return (this.received.get(topic) ?? []) as T[];
  }

  async close(): Promise<void> {
    for (const consumer of this.consumers) await consumer.disconnect().catch(() => undefined);
  }
}
