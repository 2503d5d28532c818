import { failureKinds, type ModelTrained, topics } from '@flywheel/contracts';
import { type DecodedMessage, KafkaController, NonRetriableError } from '@flywheel/kafka';
import { ROOT_LOGGER } from '@flywheel/observability';
import { HttpException, Inject } from '@nestjs/common';
import { EventPattern, Payload } from '@nestjs/microservices';
import type { Logger } from 'pino';
import { ModelRegistryService } from './model-registry.service';
import { createVersionSchema } from './model-requests';

/**
 * models.trained.v1 → a new version, Staging, and the promotion policy. Idempotent by run_id, so a redelivered
 * event (the consumer is at-least-once) creates nothing. A candidate the registry can never accept (artifact not
 * uploaded, invalid fields) is poison: dead-lettered with the reason instead of retried forever.
 */
@KafkaController()
export class ModelsTrainedHandler {
  constructor(
    private readonly registry: ModelRegistryService,
    @Inject(ROOT_LOGGER) private readonly logger: Logger,
  ) {}

  @EventPattern(topics.modelsTrained)
  async onModelTrained(@Payload() message: DecodedMessage<ModelTrained>): Promise<void> {
    const event = message.value;
    const problems = validate(event);
    if (problems.length > 0) {
      throw new NonRetriableError(
        `invalid models.trained.v1 run ${event.run_id}: ${problems.join('; ')}`,
        failureKinds.schemaViolation,
      );
    }
    try {
      const outcome = await this.registry.registerTrained(event);
      this.logger.info(
        { 'model.name': event.model_name, run_id: event.run_id, ...outcome },
        outcome.duplicate ? 'models.trained.v1 run already registered; nothing to do' : 'registered trained model',
      );
    } catch (error) {
      // 4xx from the registry's own rules (missing artifact, bad window) will fail the same way on every retry.
      if (error instanceof HttpException && error.getStatus() < 500) {
        throw new NonRetriableError(
          `models.trained.v1 run ${event.run_id} refused: ${error.message}`,
          failureKinds.schemaViolation,
        );
      }
      throw error;
    }
  }
}

function validate(event: ModelTrained): string[] {
  const parsed = createVersionSchema.safeParse({
    artifact_sha256: event.artifact_sha256,
    feature_set_version: event.feature_set_version,
    feature_names: event.feature_names,
    metrics: event.metrics,
    baseline: event.baseline,
    training_window_start: event.training_window_start,
    training_window_end: event.training_window_end,
    parent_version: event.parent_version,
    retrain_request_id: event.retrain_request_id,
    run_id: event.run_id,
  });
  const problems = parsed.success ? [] : parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/.test(event.model_name)) problems.push(`model_name: invalid`);
  return problems;
}
