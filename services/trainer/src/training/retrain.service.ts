import { type RetrainRequested, type TrainRefused, topics, trainRefusalReasons } from '@flywheel/contracts';
import { FlywheelProducer, TopicNames } from '@flywheel/kafka';
import { ROOT_LOGGER } from '@flywheel/observability';
import { Inject, Injectable } from '@nestjs/common';
import type { Logger } from 'pino';
import type { TrainerConfig } from '../config';
import { TRAINER, TRAINER_CONFIG } from '../tokens';
import { RetrainCoalescer } from './retrain-coalescer';
import { windowForRequest } from './settings';
import { runIdFor, type Trainer } from './trainer';

const REMEMBERED_REQUESTS = 10_000;

/**
 * models.retrain-requested.v1 → one training run → models.trained.v1 or models.train-refused.v1 (never nothing).
 * The run id derives from request_id, so a request redelivered after a crash re-trains to the same bytes and the
 * registry registers its run_id once; a request seen again by this process is refused as DUPLICATE_REQUEST.
 */
@Injectable()
export class RetrainService {
  private readonly handled = new Map<string, string>();
  private readonly coalescer: RetrainCoalescer;

  constructor(
    @Inject(TRAINER) private readonly trainer: Trainer,
    @Inject(TRAINER_CONFIG) private readonly config: TrainerConfig,
    private readonly producer: FlywheelProducer,
    private readonly topicNames: TopicNames,
    @Inject(ROOT_LOGGER) private readonly logger: Logger,
  ) {
    this.coalescer = new RetrainCoalescer(config.TRAINER_COALESCE_MS);
  }

  async handle(request: RetrainRequested): Promise<void> {
    const previous = this.handled.get(request.request_id);
    if (previous !== undefined) {
      await this.refuse({
        request_id: request.request_id,
        model_name: request.model_name,
        reason_code: trainRefusalReasons.duplicateRequest,
        message: `request ${request.request_id} was already handled (${previous})`,
        rows: 0,
        positives: 0,
        refused_at: Date.now(),
      });
      return;
    }
    const earlier = this.coalescer.earlier(request, Date.now());
    if (earlier) {
      await this.refuse({
        request_id: request.request_id,
        model_name: request.model_name,
        reason_code: trainRefusalReasons.alreadyRetrained,
        message: `v${request.model_version} was retrained ${Math.round((Date.now() - earlier.at) / 1000)} s ago by request ${earlier.requestId} (run ${earlier.runId}); this ${request.reason} request adds no new run`,
        rows: 0,
        positives: 0,
        refused_at: Date.now(),
      });
      this.remember(request.request_id, `coalesced with ${earlier.requestId}`);
      return;
    }
    const { from, to } = windowForRequest(this.config, request);
    const runId = runIdFor(request.request_id);
    this.logger.info(
      {
        request_id: request.request_id,
        'model.name': request.model_name,
        reason: request.reason,
        run_id: runId,
        from,
        to,
      },
      'retrain requested',
    );
    const result = await this.trainer.run({
      modelName: request.model_name,
      from,
      to,
      requestId: request.request_id,
      runId,
    });
    if (result.outcome === 'trained') {
      await this.producer.send(this.topicNames.of(topics.modelsTrained), [
        { key: result.event.model_name, value: result.event },
      ]);
      this.remember(request.request_id, `run ${runId}, artifact ${result.event.artifact_sha256}`);
      this.coalescer.trainedFrom(request, { requestId: request.request_id, runId, at: Date.now() });
    } else {
      await this.refuse({ ...result.refusal, request_id: request.request_id });
      this.remember(request.request_id, `refused: ${result.refusal.reason_code}`);
    }
  }

  private async refuse(event: TrainRefused): Promise<void> {
    await this.producer.send(this.topicNames.of(topics.modelsTrainRefused), [{ key: event.model_name, value: event }]);
  }

  private remember(requestId: string, what: string): void {
    this.handled.set(requestId, what);
    if (this.handled.size > REMEMBERED_REQUESTS) {
      const oldest = this.handled.keys().next().value;
      if (oldest !== undefined) this.handled.delete(oldest);
    }
  }
}
