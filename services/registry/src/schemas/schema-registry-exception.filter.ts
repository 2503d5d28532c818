import { type ArgumentsHost, Catch, type ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import type { Response } from 'express';
import { SchemaRegistryError } from './schema-registry.errors';

/**
 * Every error leaves the schema registry API as Confluent's `{"error_code", "message"}`: client libraries read
 * `error_code` (and the status) to tell "subject not found" from "incompatible" from "registry down".
 */
@Catch()
export class SchemaRegistryExceptionFilter implements ExceptionFilter {
  private readonly logger = new Logger('SchemaRegistry');

  catch(exception: unknown, host: ArgumentsHost): void {
    const response = host.switchToHttp().getResponse<Response>();
    if (exception instanceof SchemaRegistryError) {
      response.status(exception.status).json(exception.toBody());
      return;
    }
    if (exception instanceof HttpException) {
      const status = exception.getStatus();
      response.status(status).json({ error_code: status, message: exception.message });
      return;
    }
    // An object first: ECS error.type/message/stack_trace (the logger's context name is appended by Nest).
    this.logger.error({ error: exception }, 'schema registry request failed');
    // 50001 is Confluent's "error in the backend data store": clients retry it.
    response.status(500).json({ error_code: 50001, message: 'Error in the backend data store' });
  }
}
