import { BearerToken } from '@flywheel/auth';
import { type CanActivate, type ExecutionContext, Inject, Injectable } from '@nestjs/common';
import type { Request } from 'express';
import type { EnrichmentConfig } from '../config';
import { ENRICHMENT_CONFIG } from '../tokens';

/**
 * Reference-data writes need `Authorization: Bearer <ENRICHMENT_ADMIN_TOKEN>` (libs/auth): 401 without a token,
 * 403 with a wrong one or when no token is configured (writes disabled).
 */
@Injectable()
export class AdminTokenGuard implements CanActivate {
  private readonly token: BearerToken;

  constructor(@Inject(ENRICHMENT_CONFIG) config: EnrichmentConfig) {
    this.token = new BearerToken(config.ENRICHMENT_ADMIN_TOKEN);
  }

  canActivate(context: ExecutionContext): boolean {
    this.token.require(context.switchToHttp().getRequest<Request>().headers.authorization, {
      wrong: 'the token does not grant reference-data writes',
      disabled: 'reference-data writes are disabled: ENRICHMENT_ADMIN_TOKEN is not set',
    });
    return true;
  }
}
