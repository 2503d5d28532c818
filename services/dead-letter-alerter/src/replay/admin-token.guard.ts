import { BearerToken } from '@flywheel/auth';
import { type CanActivate, type ExecutionContext, Inject, Injectable } from '@nestjs/common';
import type { Request } from 'express';
import type { AlerterConfig } from '../config';
import { ALERTER_CONFIG } from '../tokens';

/** Header naming the person or job behind a replay, recorded in the audit table. */
export const ACTOR_HEADER = 'x-flywheel-actor';

/** Bearer ALERTER_ADMIN_TOKEN (libs/auth): 401 when missing, 403 when wrong (or when no token is configured). */
@Injectable()
export class AdminTokenGuard implements CanActivate {
  private readonly token: BearerToken;

  constructor(@Inject(ALERTER_CONFIG) config: AlerterConfig) {
    this.token = new BearerToken(config.ALERTER_ADMIN_TOKEN);
  }

  canActivate(context: ExecutionContext): boolean {
    const request = context.switchToHttp().getRequest<Request & { actor?: string }>();
    this.token.require(request.headers.authorization, {
      wrong: 'invalid admin token',
      disabled: 'replay is disabled: ALERTER_ADMIN_TOKEN is not set',
    });
    const actor = request.headers[ACTOR_HEADER];
    request.actor = typeof actor === 'string' && actor.trim() ? `admin:${actor.trim().slice(0, 200)}` : 'admin';
    return true;
  }
}
