import { type FeatureVector, type Label, type Prediction, topics } from '@flywheel/contracts';
import { type DecodedMessage, KafkaController } from '@flywheel/kafka';
import { EventPattern, Payload } from '@nestjs/microservices';
import { MonitorService } from './monitor.service';

/** features.vectors.v1, predictions.v1, labels.v1 → the monitor's windows (reports produced inside). */
@KafkaController()
export class MonitorHandler {
  constructor(private readonly monitor: MonitorService) {}

  @EventPattern(topics.featureVectors, { batch: true })
  async vectors(@Payload() messages: DecodedMessage<FeatureVector>[]): Promise<void> {
    await this.monitor.onVectors(messages.map((m) => m.value));
  }

  @EventPattern(topics.predictions, { batch: true })
  async predictions(@Payload() messages: DecodedMessage<Prediction>[]): Promise<void> {
    await this.monitor.onPredictions(messages.map((m) => m.value));
  }

  @EventPattern(topics.labels, { batch: true })
  async labels(@Payload() messages: DecodedMessage<Label>[]): Promise<void> {
    await this.monitor.onLabels(messages.map((m) => m.value));
  }
}
