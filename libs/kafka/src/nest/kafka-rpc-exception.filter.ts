import {
  type ArgumentsHost,
  applyDecorators,
  Catch,
  Controller,
  type RpcExceptionFilter,
  UseFilters,
} from '@nestjs/common';
import { type Observable, throwError } from 'rxjs';

/**
 * Nest's default RPC filter replaces any non-RpcException with a generic "Internal server error" object,
 * which would erase whether an error is retriable. This filter hands the original error back to the
 * BatchConsumer, which decides between retry and dead-letter.
 */
@Catch()
export class KafkaRpcExceptionFilter implements RpcExceptionFilter<unknown> {
  catch(exception: unknown, _host: ArgumentsHost): Observable<never> {
    return throwError(() => exception);
  }
}

/**
 * Class decorator for controllers holding `@EventPattern` handlers: a Nest controller whose handler errors
 * reach the consumer with their class intact. (A global filter cannot do this: a microservice connected to
 * an HTTP app has built its handlers before `useGlobalFilters` could apply.)
 */
export function KafkaController(): ClassDecorator {
  return applyDecorators(Controller(), UseFilters(KafkaRpcExceptionFilter));
}
