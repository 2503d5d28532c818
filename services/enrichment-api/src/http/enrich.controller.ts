import { randomUUID } from 'node:crypto';
import { CHANNELS, EVENT_TYPE_TRANSACTION, type RawEvent } from '@flywheel/contracts';
import { BadRequestException, Body, Controller, HttpCode, Post, UnprocessableEntityException } from '@nestjs/common';
import { z } from 'zod';
import { violationMessage } from '../enrichment/enricher';
import { EnrichmentMetrics } from '../enrichment/enrichment.metrics';
import { EnrichmentService } from '../enrichment/enrichment.service';

/** A RawEvent as JSON; what a caller may leave out gets the value the collector would stamp. */
const RawEventInput = z.object({
  event_id: z.string().min(1).optional(),
  event_type: z.string().default(EVENT_TYPE_TRANSACTION),
  event_time: z.number().int(),
  received_time: z.number().int().optional(),
  source: z.string().default('online-enrich'),
  api_key_id: z.string().nullable().default(null),
  account_id: z.string().min(1),
  merchant_id: z.string().min(1),
  amount: z.number(),
  currency: z.string().regex(/^[A-Z]{3}$/, 'must be an ISO-4217 code in upper case'),
  channel: z.enum(CHANNELS).default('pos'),
  card_present: z.boolean().default(false),
  device_id: z.string().nullable().default(null),
  ip_country: z.string().nullable().default(null),
  attributes: z.record(z.string(), z.string()).nullable().default(null),
});

@Controller('v1')
export class EnrichController {
  constructor(
    private readonly enrichment: EnrichmentService,
    private readonly metrics: EnrichmentMetrics,
  ) {}

  /**
   * What the stream would attach to this event, computed by the same EnrichmentService (same cache,
   * same rules). 200 `{ enriched, attached }`; 422 `{ rule, message }` when a rule fails; nothing is produced.
   */
  @Post('enrich')
  @HttpCode(200)
  async enrich(@Body() body: unknown) {
    const parsed = RawEventInput.safeParse(body);
    if (!parsed.success) {
      throw new BadRequestException({
        statusCode: 400,
        error: 'Bad Request',
        message: 'not a RawEvent',
        errors: parsed.error.issues.map((i) => ({ field: i.path.join('.') || null, reason: i.message })),
      });
    }
    const now = Date.now();
    const raw: RawEvent = {
      ...parsed.data,
      event_id: parsed.data.event_id ?? randomUUID(),
      received_time: parsed.data.received_time ?? now,
    };
    this.metrics.eventsIn.inc({ path: 'online' });
    const [result] = await this.enrichment.enrichBatch([raw], now);
    if (!result.ok) {
      this.metrics.rejected.inc({ path: 'online', rule: result.violation.rule });
      throw new UnprocessableEntityException({
        statusCode: 422,
        error: 'Unprocessable Entity',
        rule: result.violation.rule,
        message: violationMessage(result.violation),
      });
    }
    const { event } = result;
    this.metrics.eventsOut.inc({
      path: 'online',
      account_known: String(event.account_known),
      merchant_known: String(event.merchant_known),
    });
    const attached = Object.fromEntries(Object.entries(event).filter(([field]) => !(field in raw)));
    return { enriched: event, attached };
  }
}
