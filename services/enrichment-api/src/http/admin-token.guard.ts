import { createHash, timingSafeEqual } from 'node:crypto';
import {
  type CanActivate,
  type ExecutionContext,
  ForbiddenException,
  Inject,
  Injectable,
  UnauthorizedException,
} from '@nestjs/common';
import type { Request } from 'express';
import type { EnrichmentConfig } from '../config';
import { ENRICHMENT_CONFIG } from '../tokens';

const digest = (value: string) => createHash('sha256').update(value).digest();

/**
 * Reference-data writes need `Authorization: Bearer <ENRICHMENT_ADMIN_TOKEN>`: 401 without or with a wrong
 * token, 403 when no token is configured (writes disabled). Compared as sha256 digests in constant time.
 */
@Injectable()
export class AdminTokenGuard implements CanActivate {
  private readonly expected: Buffer | undefined;

  constructor(@Inject(ENRICHMENT_CONFIG) config: EnrichmentConfig) {
    this.expected = config.ENRICHMENT_ADMIN_TOKEN ? digest(config.ENRICHMENT_ADMIN_TOKEN) : undefined;
  }

  canActivate(context: ExecutionContext): boolean {
    if (!this.expected)
      throw new ForbiddenException('reference-data writes are disabled: ENRICHMENT_ADMIN_TOKEN is not set');
    const header = context.switchToHttp().getRequest<Request>().headers.authorization ?? '';
    const match = /^Bearer\s+(\S+)$/i.exec(header);
    if (!match || !timingSafeEqual(digest(match[1]), this.expected)) {
      throw new UnauthorizedException('a valid admin token is required (Authorization: Bearer <token>)');
    }
    return true;
  }
}
