import { readFileSync } from 'node:fs';
import { createKafkaClient } from '@flywheel/kafka';
import type { Kafka } from 'kafkajs';
import pino from 'pino';
import { type KafkaState, kafkaStatus, restartBroker } from '../kafka-runner';

/** What the faults global setup started, handed to every scenario file. */
export interface FaultInfra {
  /** The 3-broker cluster (plain data: killBroker/restartBroker take it and keep state.json current). */
  kafka: KafkaState;
  /** MeshControl of the shared mesh (its processes belong to the global setup). */
  controlUrl: string;
}

/** The cluster's SCRAM-SHA-512 user; every service of a fault mesh gets it through KAFKA_SASL_*. */
export const SCRAM_CREDENTIALS = { username: 'flywheel-mesh', password: 'fault-suite-scram-secret-7c1d' };

/** The KAFKA_* variables a service needs to reach the cluster (SASL when the cluster has it). */
export function kafkaServiceEnv(kafka: KafkaState): Record<string, string> {
  return {
    KAFKA_BROKERS: kafka.bootstrapServers,
    ...(kafka.sasl && {
      KAFKA_SASL_MECHANISM: kafka.sasl.mechanism,
      KAFKA_SASL_USERNAME: kafka.sasl.username,
      KAFKA_SASL_PASSWORD: kafka.sasl.password,
    }),
  };
}

/** A client of the cluster for the harness itself; its kafkajs logs are silenced (faults make them loud). */
export function faultKafkaClient(kafka: KafkaState, clientId: string): Kafka {
  return createKafkaClient({
    brokers: kafka.bootstrapServers.split(','),
    clientId,
    // a copy: kafkajs keeps (and decorates) the object it is given
    sasl: kafka.sasl && { ...kafka.sasl },
    logger: pino({ level: 'silent' }),
  });
}

/**
 * A scenario that failed half-way may leave a broker killed or paused: restart whatever does not run, so the
 * next file starts on a whole cluster. restartBroker stops a paused broker first.
 */
export async function ensureClusterWhole(kafka: KafkaState): Promise<number[]> {
  const status = await kafkaStatus(kafka.name);
  const restarted: number[] = [];
  for (const broker of status?.brokers ?? []) {
    const paused = isStopped(broker.pid);
    if (!broker.alive || paused) {
      await restartBroker(kafka, broker.id, { timeoutMs: 180_000 });
      restarted.push(broker.id);
    } else {
      const local = kafka.brokers.find((b) => b.id === broker.id);
      if (local) local.pid = broker.pid;
    }
  }
  return restarted;
}

/** True when the process is stopped (SIGSTOP): state 'T' in /proc/<pid>/stat. */
function isStopped(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('T');
  } catch {
    return false;
  }
}
