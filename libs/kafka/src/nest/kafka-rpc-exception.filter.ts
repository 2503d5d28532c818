import { type ArgumentsHost, Catch, type RpcExceptionFilter } from '@nestjs/common';
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
