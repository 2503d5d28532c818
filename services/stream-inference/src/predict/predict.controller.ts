import { randomUUID } from 'node:crypto';
import type { Prediction } from '@flywheel/contracts';
import {
  BadRequestException,
  Body,
  Controller,
  HttpCode,
  HttpException,
  HttpStatus,
  Inject,
  Post,
  ServiceUnavailableException,
  UnprocessableEntityException,
} from '@nestjs/common';
import { z } from 'zod';
import type { StreamInferenceConfig } from '../config';
import { ModelsService } from '../models/models.service';
import { ScoringService } from '../scoring/scoring.service';
import { INFERENCE_CONFIG } from '../tokens';
import { FeatureStoreClient, FeatureStoreError } from './feature-store.client';

const PredictRequest = z.union([
  z.object({
    features: z.record(z.string(), z.number()),
    feature_set_version: z.string().min(1),
    entity: z.string().min(1).optional(),
    event_id: z.string().min(1).optional(),
    event_time: z.number().int().optional(),
  }),
  z.object({
    entity: z.string().min(1),
    event_id: z.string().min(1).optional(),
    event_time: z.number().int().optional(),
  }),
]);
// (a body with `features` must match the first branch: zod objects ignore unknown keys)

const storeStatus: Record<FeatureStoreError['reason'], number> = {
  unreachable: HttpStatus.SERVICE_UNAVAILABLE,
  timeout: HttpStatus.SERVICE_UNAVAILABLE,
  'not-configured': HttpStatus.SERVICE_UNAVAILABLE,
  'bad-response': HttpStatus.BAD_GATEWAY,
  'not-found': HttpStatus.NOT_FOUND,
};

/**
 * Request-response mode: the same serving model and the same scorer as the stream, for one entity
 * (features read from the online store) or for a full feature vector sent by the caller.
 */
@Controller('v1')
export class PredictController {
  private readonly store: FeatureStoreClient;

  constructor(
    @Inject(INFERENCE_CONFIG) config: StreamInferenceConfig,
    private readonly models: ModelsService,
    private readonly scoring: ScoringService,
  ) {
    this.store = new FeatureStoreClient(config.FEATURE_STORE_URL, config.FEATURE_STORE_TIMEOUT_MS);
  }

  @Post('predict')
  @HttpCode(200)
  async predict(@Body() body: unknown): Promise<Prediction> {
    const parsed = PredictRequest.safeParse(body);
    if (!parsed.success) {
      throw new BadRequestException({
        message: 'expected {entity} or {features, feature_set_version}',
        issues: parsed.error.issues.map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`),
      });
    }
    const request = parsed.data;
    const model = this.models.serving;
    if (!model) throw new ServiceUnavailableException('no model loaded yet');
    let features: Record<string, number>;
    let featureSetVersion: string;
    let entity: string;
    if ('features' in request) {
      features = request.features;
      featureSetVersion = request.feature_set_version;
      entity = request.entity ?? '';
    } else {
      try {
        const online = await this.store.features(request.entity);
        features = online.features;
        featureSetVersion = online.feature_set_version;
        entity = request.entity;
      } catch (error) {
        if (error instanceof FeatureStoreError) {
          throw new HttpException({ message: error.message, reason: error.reason }, storeStatus[error.reason]);
        }
        throw error;
      }
    }
    const now = Date.now();
    const result = this.scoring.scoreWith(
      model,
      [
        {
          event_id: request.event_id ?? randomUUID(),
          entity,
          event_time: request.event_time ?? now,
          feature_set: '',
          feature_set_version: featureSetVersion,
          features,
        },
      ],
      'request',
    );
    const refused = result.refused[0];
    if (refused) throw new UnprocessableEntityException({ message: refused.error.message, kind: refused.kind });
    return result.predictions[0];
  }
}
