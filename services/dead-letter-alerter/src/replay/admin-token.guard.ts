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
import type { AlerterConfig } from '../config';
import { ALERTER_CONFIG } from '../tokens';

/** Header naming the person or job behind a replay, recorded in the audit table. */
export const ACTOR_HEADER = 'x-flywheel-actor';

/** Bearer ALERTER_ADMIN_TOKEN: 401 when missing, 403 when wrong (or when no token is configured). */
@Injectable()
export class AdminTokenGuard implements CanActivate {
  private readonly expected: Buffer | undefined;

  constructor(@Inject(ALERTER_CONFIG) config: AlerterConfig) {
    this.expected = config.ALERTER_ADMIN_TOKEN ? digest(config.ALERTER_ADMIN_TOKEN) : undefined;
  }

  canActivate(context: ExecutionContext): boolean {
    const request = context.switchToHttp().getRequest<Request & { actor?: string }>();
    const header = request.headers.authorization;
    const match = header ? /^Bearer\s+(.+)$/i.exec(header) : null;
    if (!match) throw new UnauthorizedException('admin token required (Authorization: Bearer <token>)');
    if (!this.expected) throw new ForbiddenException('replay is disabled: ALERTER_ADMIN_TOKEN is not set');
    // compare digests: equal length, constant time, and the token's length does not leak
    if (!timingSafeEqual(digest(match[1].trim()), this.expected)) throw new ForbiddenException('invalid admin token');
    const actor = request.headers[ACTOR_HEADER];
    request.actor = typeof actor === 'string' && actor.trim() ? `admin:${actor.trim().slice(0, 200)}` : 'admin';
    return true;
  }
}

function digest(token: string): Buffer {
  return createHash('sha256').update(token).digest();
}
