import type { DashboardSpec } from '../lib/grafana';
import { gaugeMax, quantile, rate } from '../lib/promql';

/** One screen for "is the mesh healthy": flow per stage, latency, lag, dead letters, errors. */
export const overview: DashboardSpec = {
  uid: 'flywheel-overview',
  title: 'Flywheel / Mesh overview',
  file: 'overview',
  description: 'Throughput per stage, end-to-end latency, consumer lag, dead letters and errors of the whole mesh.',
  rows: [
    {
      title: 'Throughput per stage',
      panels: [
        {
          title: 'Ingest (collector)',
          description:
            'Events per second accepted (acknowledged by Kafka) and rejected (invalid, sent to events.raw.v1.dlq) by the collectors.',
          unit: 'ops',
          targets: [{ expr: rate('flywheel_collector_events_total', '', ['outcome']), legend: '{{outcome}}' }],
        },
        {
          title: 'Messages consumed per stage',
          description:
            'Messages per second each consuming service fetched, by service (redeliveries count again). A stage far below the one before it is falling behind: see lag.',
          unit: 'ops',
          targets: [{ expr: rate('flywheel_kafka_consumed_messages_total', '', ['service']), legend: '{{service}}' }],
        },
        {
          title: 'Predictions',
          description: 'Rows scored per second by stream-inference (all instances), per model and mode.',
          unit: 'ops',
          targets: [
            { expr: rate('flywheel_inference_rows_scored_total', '', ['model', 'mode']), legend: '{{model}} {{mode}}' },
          ],
        },
        {
          title: 'Produced per topic',
          description:
            'Messages per second acknowledged by Kafka (acks=all), per topic, over every producer of the mesh.',
          unit: 'ops',
          width: 24,
          targets: [{ expr: rate('flywheel_kafka_produced_messages_total', '', ['topic']), legend: '{{topic}}' }],
        },
      ],
    },
    {
      title: 'Latency',
      panels: [
        {
          title: 'End to end: event time → prediction',
          description:
            'From an event’s event_time to its prediction being acknowledged by Kafka (p50, p95, p99). Includes producer delay, every hop and batching.',
          unit: 's',
          targets: [0.5, 0.95, 0.99].map((q) => ({
            expr: quantile(q, 'flywheel_inference_end_to_end_latency_seconds'),
            legend: `p${q * 100}`,
          })),
        },
        {
          title: 'Collector produce latency',
          description:
            'Time for Kafka to acknowledge a request’s events (p50, p99); the collector answers only after it.',
          unit: 's',
          targets: [0.5, 0.99].map((q) => ({
            expr: quantile(q, 'flywheel_collector_produce_duration_seconds'),
            legend: `p${q * 100}`,
          })),
        },
        {
          title: 'Batch duration per stage (p95)',
          description: 'Time to decode, handle, produce and commit one consumed batch, per service.',
          unit: 's',
          targets: [
            { expr: quantile(0.95, 'flywheel_kafka_batch_duration_seconds', '', ['service']), legend: '{{service}}' },
          ],
        },
      ],
    },
    {
      title: 'Consumer lag',
      panels: [
        {
          title: 'Lag per consumer group',
          description:
            'Messages not yet processed, summed over the partitions of each group and topic (refreshed between batches, so a stuck consumer shows growing lag). Alert: FlywheelConsumerLagGrowing.',
          unit: 'short',
          width: 16,
          targets: [
            {
              expr: 'sum by (group, topic) (max by (group, topic, partition) (flywheel_kafka_consumer_lag_messages))',
              legend: '{{group}} ← {{topic}}',
            },
          ],
        },
        {
          title: 'Consumers running',
          description: 'Consumer group members running (1) or crashed/stopped (0), per service and group.',
          kind: 'stat',
          targets: [
            { expr: gaugeMax('flywheel_kafka_consumer_up', '', ['service', 'group']), legend: '{{service}} {{group}}' },
          ],
        },
      ],
    },
    {
      title: 'Dead letters and errors',
      panels: [
        {
          title: 'Dead letters by source topic and stage',
          description:
            'Dead letters per second read from every *.dlq topic by the dead-letter-alerter. Browse and replay with its API. Alert: FlywheelDeadLetterRateHigh.',
          unit: 'ops',
          targets: [
            { expr: rate('flywheel_dlq_messages_total', '', ['topic', 'stage']), legend: '{{stage}} ← {{topic}}' },
          ],
        },
        {
          title: 'Dead letters by failure kind',
          description: 'The same dead letters by failure kind (schema-violation, payload-format, business-rule, …).',
          unit: 'ops',
          targets: [{ expr: rate('flywheel_dlq_messages_total', '', ['kind']), legend: '{{kind}}' }],
        },
        {
          title: 'Errors',
          description:
            'Collector 5xx answers, failed produce calls, handler retries and dead-lettered messages per second, per service. Anything but dead letters should be 0.',
          unit: 'ops',
          targets: [
            {
              expr: rate('flywheel_collector_requests_total', 'status=~"5.."', ['service']),
              legend: '{{service}} 5xx',
            },
            {
              expr: rate('flywheel_kafka_produce_errors_total', '', ['service']),
              legend: '{{service}} produce errors',
            },
            { expr: rate('flywheel_kafka_handler_retries_total', '', ['service']), legend: '{{service}} retries' },
            {
              expr: rate('flywheel_kafka_handled_messages_total', 'outcome="dead-lettered"', ['service']),
              legend: '{{service}} dead-lettered',
            },
          ],
        },
        {
          title: 'Services up',
          description: 'Scrape targets answering /metrics, per job (service). Alert: FlywheelServiceDown.',
          kind: 'stat',
          width: 24,
          targets: [{ expr: 'sum by (job) (up)', legend: '{{job}}' }],
        },
      ],
    },
  ],
};
