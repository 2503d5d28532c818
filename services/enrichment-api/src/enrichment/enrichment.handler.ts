import { type EnrichedEvent, failureKinds, type RawEvent, topics } from '@flywheel/contracts';
import {
  type BatchOutcome,
  type DecodedMessage,
  FlywheelProducer,
  KafkaController,
  NonRetriableError,
  type OutgoingMessage,
  type RejectedMessage,
  TopicNames,
} from '@flywheel/kafka';
import { EventPattern, Payload } from '@nestjs/microservices';
import { violationMessage } from './enricher';
import { EnrichmentMetrics } from './enrichment.metrics';
import { EnrichmentService } from './enrichment.service';

/** A broken business rule; the message starts with the rule name (see violationMessage). */
export class EnrichmentRuleError extends NonRetriableError {
  constructor(
    readonly rule: string,
    message: string,
  ) {
    super(message, failureKinds.enrichment);
  }
}

/**
 * events.raw.v1 → events.enriched.v1, keyed by account_id. The produce is awaited here, so the runner
 * commits a batch only once its output is acknowledged: a crash re-enriches, never loses (duplicates are
 * removed downstream by event_id). Rule violations are returned as rejected → events.raw.v1.dlq.
 */
@KafkaController()
export class EnrichmentHandler {
  constructor(
    private readonly enrichment: EnrichmentService,
    private readonly producer: FlywheelProducer,
    private readonly topicNames: TopicNames,
    private readonly metrics: EnrichmentMetrics,
  ) {}

  @EventPattern(topics.eventsRaw, { batch: true })
  async onRawEvents(@Payload() batch: DecodedMessage<RawEvent>[]): Promise<BatchOutcome> {
    const stopTimer = this.metrics.batchSeconds.startTimer();
    this.metrics.eventsIn.inc({ path: 'stream' }, batch.length);
    const results = await this.enrichment.enrichBatch(batch.map((m) => m.value));
    const enriched: EnrichedEvent[] = [];
    const outgoing: OutgoingMessage<EnrichedEvent>[] = [];
    const rejected: RejectedMessage[] = [];
    results.forEach((result, i) => {
      if (result.ok) {
        enriched.push(result.event);
        // Each enriched event continues its raw event's trace.
        outgoing.push({ key: result.event.account_id, value: result.event, traceContext: batch[i].traceContext });
      } else {
        const error = new EnrichmentRuleError(result.violation.rule, violationMessage(result.violation));
        rejected.push({ message: batch[i], error, kind: failureKinds.enrichment });
      }
    });
    await this.producer.send(this.topicNames.of(topics.eventsEnriched), outgoing);
    const acked = Date.now();
    const outCounts = new Map<string, number>();
    for (const event of enriched) {
      const combo = `${event.account_known}/${event.merchant_known}`;
      outCounts.set(combo, (outCounts.get(combo) ?? 0) + 1);
      this.metrics.eventLatencySeconds.observe(Math.max(0, acked - event.received_time) / 1000);
    }
    for (const [combo, count] of outCounts) {
      const [accountKnown, merchantKnown] = combo.split('/');
      this.metrics.eventsOut.inc({ path: 'stream', account_known: accountKnown, merchant_known: merchantKnown }, count);
    }
    for (const { error } of rejected) {
      this.metrics.rejected.inc({ path: 'stream', rule: (error as EnrichmentRuleError).rule });
    }
    stopTimer();
    return { rejected };
  }
}
