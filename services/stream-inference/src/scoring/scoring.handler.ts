import { type FeatureVector, topics } from '@flywheel/contracts';
import { type BatchOutcome, type DecodedMessage, KafkaController } from '@flywheel/kafka';
import { EventPattern, Payload } from '@nestjs/microservices';
import { ScoringService } from './scoring.service';

/** features.vectors.v1 → predictions.v1, one micro-batch (one partition, ≤ BATCH_MAX_ROWS) per call. */
@KafkaController()
export class ScoringHandler {
  constructor(private readonly scoring: ScoringService) {}

  @EventPattern(topics.featureVectors, { batch: true })
  score(@Payload() messages: DecodedMessage<FeatureVector>[]): Promise<BatchOutcome> {
    return this.scoring.scoreStream(messages);
  }
}
