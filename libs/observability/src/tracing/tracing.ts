import { propagation } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { defaultResource, envDetector, hostDetector, resourceFromAttributes } from '@opentelemetry/resources';
import { NodeSDK } from '@opentelemetry/sdk-node';
import {
  AlwaysOffSampler,
  BatchSpanProcessor,
  NoopSpanProcessor,
  ParentBasedSampler,
  type SpanProcessor,
} from '@opentelemetry/sdk-trace-base';

export interface TracingSettings {
  service: string;
  /** service.instance.id on every span (the same INSTANCE_ID as in logs and metrics). */
  instance?: string;
  /**
   * OTLP/HTTP endpoint (e.g. http://jaeger:4318); spans are posted as JSON to `<endpoint>/v1/traces`.
   * Without it (and without spanProcessors) spans are not recorded: they still get ids, so trace.id reaches
   * logs and traceparent reaches Kafka headers, at the cost of an id per span.
   */
  otlpEndpoint?: string;
  /** Tests inject an in-memory processor here. */
  spanProcessors?: SpanProcessor[];
}

let sdk: NodeSDK | undefined;
let recording = false;

/**
 * The recording switch is also published on globalThis under this registered symbol, so libs/kafka's
 * per-message instrumentation can read it without importing this module (which loads the whole
 * OpenTelemetry SDK and made every CLI start seconds slower).
 */
export const TRACING_RECORDED = Symbol.for('flywheel.tracing.recorded');

function setRecording(value: boolean): void {
  recording = value;
  (globalThis as Record<symbol, unknown>)[TRACING_RECORDED] = value;
}

/**
 * True when spans are recorded and exported (initTracing got an OTLP endpoint or span processors). Per-event
 * instrumentation (libs/kafka) creates spans only then; otherwise it only carries the trace context along,
 * which costs a fraction of a span per event.
 */
export function isTracingRecorded(): boolean {
  return recording;
}

/** Call first, before Nest is bootstrapped, so every span created later has a provider. */
export function initTracing(settings: TracingSettings): NodeSDK {
  if (sdk) return sdk;
  const processors = [...(settings.spanProcessors ?? [])];
  if (settings.otlpEndpoint) {
    const url = `${settings.otlpEndpoint.replace(/\/$/, '')}/v1/traces`;
    // Queue size, batch size and delay follow OTEL_BSP_* when set (the SDK reads them).
    processors.push(new BatchSpanProcessor(new OTLPTraceExporter({ url })));
  }
  setRecording(processors.length > 0);
  sdk = new NodeSDK({
    serviceName: settings.service,
    resource: defaultResource().merge(
      resourceFromAttributes(settings.instance ? { 'service.instance.id': settings.instance } : {}),
    ),
    // Not the process detector: it records the command line, which may carry a secret (a CLI's --token).
    resourceDetectors: [envDetector, hostDetector],
    // A provider is registered even with nothing to export (NodeSDK registers none without a processor),
    // so ids exist for logs and headers. Not exporting → root spans unsampled: nothing is recorded, a
    // per-event span costs two random ids. A sampled parent from upstream is still honoured.
    spanProcessors: recording ? processors : [new NoopSpanProcessor()],
    ...(recording ? {} : { sampler: new ParentBasedSampler({ root: new AlwaysOffSampler() }) }),
    textMapPropagator: new W3CTraceContextPropagator(),
    instrumentations: [],
    // Traces only: metrics are Prometheus' (/metrics) and logs are stdout's. Without these NodeSDK would
    // start OTLP metric and log exporters of its own, pushing to localhost:4318 by default.
    metricReaders: [],
    logRecordProcessors: [],
  });
  sdk.start();
  // NodeSDK registers the propagator globally; make it explicit for processes that never start the SDK.
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  return sdk;
}

/** Flushes spans still queued for export (called on shutdown) and stops the SDK. */
export async function shutdownTracing(): Promise<void> {
  const current = sdk;
  sdk = undefined;
  setRecording(false);
  await current?.shutdown();
}
