import type { LoggerService } from '@nestjs/common';
import type { Level, Logger } from 'pino';

/**
 * Nest's own logger calls, written by the service's ECS logger. Used while Nest creates the app, before
 * nestjs-pino's logger can be resolved from it: without it Nest writes plain text (its default console
 * logger), e.g. the reason a module failed to initialise.
 */
export class NestEcsLogger implements LoggerService {
  constructor(private readonly logger: Logger) {}

  log(message: unknown, ...params: unknown[]): void {
    this.write('info', message, params);
  }
  error(message: unknown, ...params: unknown[]): void {
    this.write('error', message, params);
  }
  warn(message: unknown, ...params: unknown[]): void {
    this.write('warn', message, params);
  }
  debug(message: unknown, ...params: unknown[]): void {
    this.write('debug', message, params);
  }
  verbose(message: unknown, ...params: unknown[]): void {
    this.write('trace', message, params);
  }
  fatal(message: unknown, ...params: unknown[]): void {
    this.write('fatal', message, params);
  }

  /** Nest calls (message, context) and, for errors, (message, stack, context) or (error, context). */
  private write(level: Level, message: unknown, params: unknown[]): void {
    const last = params.at(-1);
    const context = typeof last === 'string' && params.length > 0 ? last : undefined;
    if (message instanceof Error) {
      this.logger[level]({ context, error: message }, message.message);
    } else if (level === 'error' && params.length === 2 && typeof params[0] === 'string') {
      const error = new Error(String(message));
      error.stack = params[0];
      this.logger.error({ context, error }, String(message));
    } else if (message !== null && typeof message === 'object') {
      this.logger[level]({ context, ...message });
    } else {
      this.logger[level]({ context }, String(message));
    }
  }
}
