import { freePort } from '../free-port';
import { type ServiceProcess, startServiceProcess } from '../service-process';

export type MeshServiceName = 'registry' | 'collector' | 'enrichment-api' | 'feature-materializer' | 'stream-inference';

/** What a client needs of a service instance: where it is and whether it is ready. */
export interface ServiceEndpoint {
  /** `<name>#<instance>`, e.g. `collector#2`. */
  readonly id: string;
  readonly url: string;
  ready(): Promise<boolean>;
}

/** /health/ready answered 200 within 2 s. */
export async function answersReady(url: string): Promise<boolean> {
  try {
    const response = await fetch(`${url}/health/ready`, { signal: AbortSignal.timeout(2_000) });
    return response.ok;
  } catch {
    return false;
  }
}

/**
 * One instance of a service in a fault mesh: a process that can be crashed, stopped and started again on the
 * same port with the same environment (so clients and the load generator keep their URL), as a supervisor
 * (systemd, Kubernetes) would restart it.
 */
export class MeshService implements ServiceEndpoint {
  private process?: ServiceProcess;
  /** Every process this instance ran (for cleanup and for scanning logs). */
  readonly logFiles = new Set<string>();

  private constructor(
    readonly name: MeshServiceName,
    readonly instance: number,
    readonly port: number,
    readonly env: Record<string, string>,
  ) {}

  static async start(name: MeshServiceName, instance: number, env: Record<string, string>): Promise<MeshService> {
    const service = new MeshService(name, instance, await freePort(), env);
    await service.start();
    return service;
  }

  get id(): string {
    return `${this.name}#${this.instance}`;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get pid(): number | undefined {
    return this.process?.child.pid;
  }

  get running(): boolean {
    return this.process !== undefined && this.process.child.exitCode === null && this.process.child.signalCode === null;
  }

  /** Starts the process and waits until /health/ready answers 200. */
  async start(timeoutMs = 180_000): Promise<void> {
    if (this.running) return;
    this.process = await startServiceProcess(this.name, {
      env: { ...this.env, HTTP_PORT: String(this.port), INSTANCE_ID: this.id },
      timeoutMs,
    });
    this.logFiles.add(this.process.logFile);
  }

  /** Crash: SIGKILL, nothing gets to run (no drain, no commit, no goodbye to the group). */
  async kill(): Promise<void> {
    await this.process?.kill();
  }

  /** Graceful: SIGTERM and wait for the exit (drain, finish the in-flight batch, leave the group). */
  async stop(): Promise<number | null | undefined> {
    return this.process?.stop();
  }

  ready(): Promise<boolean> {
    return answersReady(this.url);
  }
}
