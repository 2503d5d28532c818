import type { IncomingMessage, ServerResponse } from 'node:http';
import { type CallHandler, type ExecutionContext, Injectable, type NestInterceptor } from '@nestjs/common';
import { type Context, context, propagation, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import type { Observable } from 'rxjs';

const tracer = trace.getTracer('flywheel-http');
/** Probes and scrapes every few seconds would bury the traces that matter. */
const UNTRACED = /^\/(health|metrics)(\/|\?|$)/;
const REQUEST_CONTEXT = Symbol('flywheel.http.traceContext');

type TracedRequest = IncomingMessage & { [REQUEST_CONTEXT]?: Context; route?: { path?: unknown } };

/**
 * Express middleware: one SERVER span per HTTP request, continuing the caller's W3C `traceparent` when it
 * sends one. Mounted first (startService), so the span covers body reading too. Its context is also kept
 * on the request, because a body read through stream events leaves the async context behind:
 * HttpTraceContextInterceptor re-enters it around the handler.
 */
export function httpTracingMiddleware() {
  return (req: TracedRequest, res: ServerResponse, next: () => void): void => {
    const url = req.url ?? '/';
    if (UNTRACED.test(url)) {
      next();
      return;
    }
    const method = req.method ?? 'GET';
    const parent = propagation.extract(ROOT_CONTEXT, req.headers);
    const span = tracer.startSpan(
      method,
      {
        kind: SpanKind.SERVER,
        attributes: { 'http.request.method': method, 'url.path': url.split('?')[0] },
      },
      parent,
    );
    const traced = trace.setSpan(parent, span);
    req[REQUEST_CONTEXT] = traced;
    // W3C Trace Context level 2: the caller learns the trace of its request (to find its events' logs).
    const { traceId, spanId, traceFlags } = span.spanContext();
    if (trace.isSpanContextValid(span.spanContext())) {
      res.setHeader('traceresponse', `00-${traceId}-${spanId}-0${traceFlags & 1}`);
    }
    let ended = false;
    const end = () => {
      if (ended) return;
      ended = true;
      // The route template, not the path: span names must not grow with ids in URLs.
      const route = typeof req.route?.path === 'string' ? req.route.path : undefined;
      if (route) {
        span.updateName(`${method} ${route}`);
        span.setAttribute('http.route', route);
      }
      span.setAttribute('http.response.status_code', res.statusCode);
      if (res.statusCode >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
      span.end();
    };
    res.once('finish', end);
    res.once('close', end);
    context.with(traced, next);
  };
}

/** The trace context of a request's SERVER span, if it has one. */
export function requestTraceContext(req: unknown): Context | undefined {
  return (req as TracedRequest | undefined)?.[REQUEST_CONTEXT];
}

/** Runs HTTP handlers inside their request's span, so their logs and Kafka sends join its trace. */
@Injectable()
export class HttpTraceContextInterceptor implements NestInterceptor {
  intercept(execution: ExecutionContext, next: CallHandler): Observable<unknown> {
    if (execution.getType() !== 'http') return next.handle();
    const traced = requestTraceContext(execution.switchToHttp().getRequest());
    return traced ? context.with(traced, () => next.handle()) : next.handle();
  }
}
