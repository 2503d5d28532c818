import type { FeatureSet } from '@flywheel/features';
import {
  BadRequestException,
  Body,
  Controller,
  Get,
  HttpCode,
  Inject,
  NotFoundException,
  Param,
  Post,
} from '@nestjs/common';
import { z } from 'zod';
import type { FeatureMaterializerConfig } from '../config';
import { FEATURE_SET, FEATURE_STORE, MATERIALIZER_CONFIG, namespaceFor } from '../feature-set.provider';
import type { FeatureStore, OnlineRow } from '../store/feature-store';

const BatchRequest = z.object({ entities: z.array(z.string().min(1)).min(1).max(1000) });

/** Online store: the entity features as of each entity's newest event (as_of = its event time). */
@Controller('v1/features')
export class FeaturesController {
  private readonly namespace: string;

  constructor(
    @Inject(FEATURE_STORE) private readonly store: FeatureStore,
    @Inject(FEATURE_SET) private readonly featureSet: FeatureSet,
    @Inject(MATERIALIZER_CONFIG) config: FeatureMaterializerConfig,
  ) {
    this.namespace = namespaceFor(config, featureSet);
  }

  @Get(':entity')
  async one(@Param('entity') entity: string): Promise<OnlineRow> {
    const [row] = await this.store.online(this.namespace, [entity]);
    if (!row) throw new NotFoundException(`no features for entity ${entity}`);
    return row;
  }

  @Post('batch')
  @HttpCode(200)
  async batch(@Body() body: unknown) {
    const parsed = BatchRequest.safeParse(body);
    if (!parsed.success) {
      throw new BadRequestException(parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
    }
    const rows = await this.store.online(this.namespace, parsed.data.entities);
    const found = new Set(rows.map((r) => r.entity));
    return {
      feature_set: this.featureSet.name,
      feature_set_version: this.featureSet.version,
      results: rows,
      missing: parsed.data.entities.filter((e) => !found.has(e)),
    };
  }
}
