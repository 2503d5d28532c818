import { propagation } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { NodeSDK } from '@opentelemetry/sdk-node';
import { BatchSpanProcessor, type SpanProcessor } from '@opentelemetry/sdk-trace-base';

export interface TracingSettings {
  service: string;
  /** OTLP/HTTP endpoint (e.g. http://jaeger:4318). Without it spans still get ids (so trace.id reaches logs and Kafka headers) but are not exported. */
  otlpEndpoint?: string;
  /** Tests inject an in-memory processor here. */
  spanProcessors?: SpanProcessor[];
}

let sdk: NodeSDK | undefined;

/** Call first in main.ts, before Nest is bootstrapped, so every span created later has a provider. */
export function initTracing(settings: TracingSettings): NodeSDK {
  if (sdk) return sdk;
  const processors = [...(settings.spanProcessors ?? [])];
  if (settings.otlpEndpoint) {
    const url = `${settings.otlpEndpoint.replace(/\/$/, '')}/v1/traces`;
    processors.push(new BatchSpanProcessor(new OTLPTraceExporter({ url })));
  }
  sdk = new NodeSDK({
    serviceName: settings.service,
    spanProcessors: processors,
    textMapPropagator: new W3CTraceContextPropagator(),
    instrumentations: [],
  });
  sdk.start();
  // NodeSDK registers the propagator globally; make it explicit for processes that never start the SDK.
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  return sdk;
}

export async function shutdownTracing(): Promise<void> {
  await sdk?.shutdown();
  sdk = undefined;
}
