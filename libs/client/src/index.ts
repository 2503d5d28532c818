export type { Prediction } from '@flywheel/contracts';
export { CollectorClient, type CollectorClientOptions } from './collector-client';
export { CollectorRequestError } from './errors';
export { EventBatcher, type EventBatcherOptions } from './event-batcher';
export type { EventInput, EventResult, EventTime, LabelInput, SendResult, TransactionInput } from './events';
export {
  openPredictionStream,
  type PredictionHandler,
  type PredictionMeta,
  PredictionStream,
  type PredictionSubscriberOptions,
  PredictionSubscription,
  type ReceivedPrediction,
  subscribePredictions,
} from './prediction-subscriber';
export { retryAfterMs } from './retry-after';
