/** The parsed AlerterConfig (rules included). */
export const ALERTER_CONFIG = Symbol('ALERTER_CONFIG');
/** AvroSerde that reads any `*.dlq` topic as a DeadLetter (see consumer/dlq-serde.ts). */
export const DLQ_SERDE = Symbol('DLQ_SERDE');
