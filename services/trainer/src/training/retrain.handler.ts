import { type RetrainRequested, topics } from '@flywheel/contracts';
import { type DecodedMessage, KafkaController } from '@flywheel/kafka';
import { EventPattern, Payload } from '@nestjs/microservices';
import { RetrainService } from './retrain.service';

/** Thin: one request per call; the offset commits once the outcome event is acknowledged. */
@KafkaController()
export class RetrainHandler {
  constructor(private readonly retrain: RetrainService) {}

  @EventPattern(topics.modelsRetrainRequested)
  async onRetrainRequested(@Payload() message: DecodedMessage<RetrainRequested>): Promise<void> {
    await this.retrain.handle(message.value);
  }
}
