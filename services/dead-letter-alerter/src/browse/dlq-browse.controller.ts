import { Controller, Get, Inject, Param, Query } from '@nestjs/common';
import { z } from 'zod';
import type { AlerterConfig } from '../config';
import { ALERTER_CONFIG } from '../tokens';
import { DlqBrowseService } from './dlq-browse.service';
import { listParam, parseOrBadRequest, timeParam } from './query';

/** `GET /v1/dlq` and `GET /v1/dlq/{topic}`: read-only, no token needed (no payload leaves unless asked). */
@Controller('v1/dlq')
export class DlqBrowseController {
  private readonly pageQuery;

  constructor(
    private readonly browse: DlqBrowseService,
    @Inject(ALERTER_CONFIG) config: AlerterConfig,
  ) {
    this.pageQuery = z.object({
      partition: z.coerce.number().int().min(0).default(0),
      offset: z.coerce.number().int().min(0).optional(),
      limit: z.coerce.number().int().min(1).max(config.BROWSE_MAX_LIMIT).default(50),
      kind: listParam.optional(),
      from: timeParam.optional(),
      to: timeParam.optional(),
      key: z.string().optional(),
      event_id: listParam.optional(),
    });
  }

  @Get()
  async list() {
    return { topics: await this.browse.list() };
  }

  @Get(':topic')
  async page(@Param('topic') topic: string, @Query() query: Record<string, unknown>) {
    const q = parseOrBadRequest(this.pageQuery, query);
    return this.browse.page(topic, { ...q, kinds: q.kind, eventIds: q.event_id });
  }
}
