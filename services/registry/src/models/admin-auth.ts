import { BearerToken, bearerFrom } from '@flywheel/auth';
import { ForbiddenException } from '@nestjs/common';

/**
 * Bearer-token checks for the model registry (libs/auth's rule): 401 when no token is presented, 403 when it is
 * not one that grants the access (or when no admin token is configured: writes are then off). Reads may require
 * the read token or the admin token.
 */
export class TokenCheck {
  private readonly admin: BearerToken;
  private readonly read: BearerToken;

  constructor(
    adminToken: string | undefined,
    readToken: string | undefined,
    private readonly readsRequireToken: boolean,
  ) {
    this.admin = new BearerToken(adminToken);
    this.read = new BearerToken(readToken);
  }

  /** Returns the actor name to record: the X-Registry-Actor header, else 'admin'. */
  requireAdmin(authorization: string | undefined, actorHeader?: string): string {
    this.admin.require(authorization, {
      wrong: 'the token does not grant model registry writes',
      disabled: 'model registry writes are disabled (no REGISTRY_ADMIN_TOKEN)',
    });
    const actor = actorHeader?.trim();
    return actor && actor.length <= 200 ? `admin:${actor}` : 'admin';
  }

  requireRead(authorization: string | undefined): void {
    if (!this.readsRequireToken) return;
    const token = bearerFrom(authorization);
    if (!this.admin.matches(token) && !this.read.matches(token)) {
      throw new ForbiddenException('the token does not grant model registry reads');
    }
  }
}
