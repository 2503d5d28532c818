import type { DashboardSpec, RowSpec } from '../lib/grafana';
import { gaugeMax, quantile, rate } from '../lib/promql';

export interface ServiceDashboardOptions {
  /** Service name: the Prometheus job and the `service` label of its series. */
  service: string;
  description: string;
  /** Runs a libs/kafka consumer group (lag, batches, dead letters). */
  consumes: boolean;
  /** Produces through libs/kafka (produce rate and latency). */
  produces: boolean;
  /** The service's own rows, shown first. */
  rows: RowSpec[];
}

/**
 * Every service dashboard has the same shape: the service's own metrics first, then its Kafka client, then
 * the process (instances up, CPU, memory, event loop). Everything is filtered by the `service` label.
 */
export function serviceDashboard(options: ServiceDashboardOptions): DashboardSpec {
  const svc = `service="${options.service}"`;
  const rows: RowSpec[] = [...options.rows];
  if (options.consumes) rows.push(consumerRow(svc));
  if (options.produces) rows.push(producerRow(svc));
  rows.push(processRow(options.service, svc));
  return {
    uid: `flywheel-${options.service}`,
    title: `Flywheel / ${options.service}`,
    file: options.service,
    description: options.description,
    rows,
  };
}

function consumerRow(svc: string): RowSpec {
  return {
    title: 'Kafka consumer',
    panels: [
      {
        title: 'Consumed and handled',
        description:
          'Messages per second fetched, finished by outcome (ok, dead-lettered: sent to <topic>.dlq) and retried after a retriable error, per topic.',
        unit: 'ops',
        targets: [
          { expr: rate('flywheel_kafka_consumed_messages_total', svc, ['topic']), legend: 'consumed {{topic}}' },
          {
            expr: rate('flywheel_kafka_handled_messages_total', svc, ['topic', 'outcome']),
            legend: '{{outcome}} {{topic}}',
          },
          { expr: rate('flywheel_kafka_handler_retries_total', svc, ['topic']), legend: 'retried {{topic}}' },
        ],
      },
      {
        title: 'Lag per partition',
        description:
          'Messages behind the end of each partition this service owns (refreshed between batches). Add instances up to the partition count when it keeps growing.',
        targets: [
          {
            expr: gaugeMax('flywheel_kafka_consumer_lag_messages', svc, ['group', 'topic', 'partition']),
            legend: '{{topic}}[{{partition}}]',
          },
        ],
      },
      {
        title: 'Batch duration (p95)',
        description: 'Time to decode, handle, produce and commit one batch, per topic.',
        unit: 's',
        targets: [
          { expr: quantile(0.95, 'flywheel_kafka_batch_duration_seconds', svc, ['topic']), legend: 'p95 {{topic}}' },
        ],
      },
      {
        title: 'Messages per batch (median)',
        description: 'How full the consumed batches are: small batches under load mean per-message overhead dominates.',
        width: 12,
        targets: [{ expr: quantile(0.5, 'flywheel_kafka_batch_messages', svc, ['topic']), legend: '{{topic}}' }],
      },
      {
        title: 'Consumer running',
        description:
          '1 while the group member runs; 0 after a crash or before start. Alert: FlywheelKafkaConsumerDown.',
        kind: 'stat',
        width: 12,
        targets: [
          { expr: gaugeMax('flywheel_kafka_consumer_up', svc, ['instance_id', 'group']), legend: '{{instance_id}}' },
        ],
      },
    ],
  };
}

function producerRow(svc: string): RowSpec {
  return {
    title: 'Kafka producer',
    panels: [
      {
        title: 'Produced per topic',
        description:
          'Messages per second acknowledged by Kafka, failed produce calls, and messages re-sent because kafkajs resolved a send without their partition.',
        unit: 'ops',
        width: 12,
        targets: [
          { expr: rate('flywheel_kafka_produced_messages_total', svc, ['topic']), legend: '{{topic}}' },
          { expr: rate('flywheel_kafka_produce_errors_total', svc, ['topic']), legend: 'errors {{topic}}' },
          { expr: rate('flywheel_kafka_produce_resent_messages_total', svc, ['topic']), legend: 're-sent {{topic}}' },
        ],
      },
      {
        title: 'Produce latency (p99)',
        description: 'Time from send to acknowledgement (acks=all) per produce call.',
        unit: 's',
        width: 12,
        targets: [
          { expr: quantile(0.99, 'flywheel_kafka_produce_duration_seconds', svc, ['topic']), legend: '{{topic}}' },
        ],
      },
    ],
  };
}

function processRow(service: string, svc: string): RowSpec {
  return {
    title: 'Process',
    panels: [
      {
        title: 'Instances up',
        description: 'Instances answering /metrics. Alert: FlywheelServiceDown.',
        kind: 'stat',
        width: 6,
        targets: [{ expr: `sum(up{job="${service}"})`, legend: 'up' }],
      },
      {
        title: 'CPU',
        description: 'CPU seconds per second per instance (1 = one core busy; Node runs JavaScript on one).',
        width: 6,
        targets: [{ expr: rate('process_cpu_seconds_total', svc, ['instance_id']), legend: '{{instance_id}}' }],
      },
      {
        title: 'Memory (RSS)',
        description: 'Resident memory per instance.',
        unit: 'bytes',
        width: 6,
        targets: [{ expr: gaugeMax('process_resident_memory_bytes', svc, ['instance_id']), legend: '{{instance_id}}' }],
      },
      {
        title: 'Event loop lag (p99)',
        description: 'How late timers and I/O callbacks run: above ~100 ms the process is CPU-bound or blocked.',
        unit: 's',
        width: 6,
        targets: [
          { expr: gaugeMax('nodejs_eventloop_lag_p99_seconds', svc, ['instance_id']), legend: '{{instance_id}}' },
        ],
      },
    ],
  };
}
