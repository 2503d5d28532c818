import { Injectable, type NestMiddleware } from '@nestjs/common';
import { json, type NextFunction, type Request, type Response } from 'express';

/** What Confluent serves; clients also accept application/json, but some check for this one. */
export const SCHEMA_REGISTRY_CONTENT_TYPE = 'application/vnd.schemaregistry.v1+json';

/** The request media types Confluent accepts. Nest's default parser only knows application/json. */
const REQUEST_CONTENT_TYPES = [SCHEMA_REGISTRY_CONTENT_TYPE, 'application/vnd.schemaregistry+json', 'application/json'];

/**
 * Content negotiation for the schema registry routes only, so the rest of the service (health, metrics, the model
 * registry later) keeps Nest's defaults. A module middleware rather than `app.useBodyParser` in the bootstrap: the
 * feature stays self-contained (main.ts is the shared one-liner, and a test that starts the app gets the same
 * parsing). By the time it runs Nest's global parser has already consumed application/json bodies; this one parses
 * the vendor types it left alone (body-parser skips a request whose body was already read).
 */
@Injectable()
export class SchemaRegistryHttpMiddleware implements NestMiddleware {
  private readonly parse = json({ type: REQUEST_CONTENT_TYPES });

  use(request: Request, response: Response, next: NextFunction): void {
    // res.json() keeps a Content-Type that is already set, so success and error bodies both carry it.
    response.setHeader('Content-Type', SCHEMA_REGISTRY_CONTENT_TYPE);
    this.parse(request, response, (error?: unknown) => {
      if (!error) {
        next();
        return;
      }
      const status = statusOf(error);
      response.status(status).json({ error_code: status, message: `Invalid request body: ${messageOf(error)}` });
    });
  }
}

function statusOf(error: unknown): number {
  const status = (error as { status?: unknown }).status;
  return typeof status === 'number' && status >= 400 && status < 500 ? status : 400;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
