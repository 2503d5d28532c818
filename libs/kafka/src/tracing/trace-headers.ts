import { type Context, context, propagation, type TextMapGetter, type TextMapSetter } from '@opentelemetry/api';
import type { IHeaders } from 'kafkajs';

/** W3C trace context (traceparent/tracestate) travels in Kafka headers so one trace spans every hop. */
const setter: TextMapSetter<IHeaders> = {
  set: (carrier, key, value) => {
    carrier[key] = value;
  },
};

const getter: TextMapGetter<IHeaders | undefined> = {
  keys: (carrier) => Object.keys(carrier ?? {}),
  get: (carrier, key) => {
    const value = carrier?.[key];
    if (value === undefined) return undefined;
    const first = Array.isArray(value) ? value[0] : value;
    return first === undefined ? undefined : first.toString();
  },
};

export function injectTraceHeaders(headers: IHeaders = {}, ctx: Context = context.active()): IHeaders {
  propagation.inject(ctx, headers, setter);
  return headers;
}

/** The context a message's headers carry, on top of `base` (a consumer passes ROOT_CONTEXT: no traceparent → a new trace). */
export function extractTraceContext(headers: IHeaders | undefined, base: Context = context.active()): Context {
  return propagation.extract(base, headers, getter);
}

/** Header values as strings, for logs and the DLQ envelope's readable view. */
export function headerString(headers: IHeaders | undefined, key: string): string | undefined {
  return getter.get(headers, key) as string | undefined;
}
