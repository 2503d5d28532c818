export { CATEGORIES, type Category, CURRENCY_OF, RATES_TO_EUR } from './catalog';
export {
  driftSchedule,
  durationMs,
  GENERATE_USAGE,
  type GenerateCommand,
  parseGenerateArgs,
  type SinkSpec,
  UsageError,
} from './cli-args';
export { type LabelEvent, LabelQueue, labelFor } from './labels';
export { type Account, type Merchant, Population, type PopulationOptions } from './population';
export { deriveSeed, Random } from './random';
export { loadReferenceData, type ReferenceLoadReport } from './reference-loader';
export {
  type DriftSchedule,
  type GeneratorOptions,
  type GeneratorStats,
  type RunningGenerator,
  runGenerator,
  startGenerator,
} from './run-generator';
export { CollectorSink } from './sinks/collector-sink';
export { type EventSink, type OutgoingBatch, type SendResult, SinkRefusedError } from './sinks/event-sink';
export { KafkaSink, type KafkaSinkOptions } from './sinks/kafka-sink';
export {
  type DriftPoint,
  type FraudKind,
  type GeneratedTransaction,
  type Phase,
  TrafficModel,
  type TrafficOptions,
  type Transaction,
} from './traffic';
