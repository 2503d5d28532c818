import { createHash, timingSafeEqual } from 'node:crypto';
import { ForbiddenException, UnauthorizedException } from '@nestjs/common';

/**
 * Bearer-token checks for the model registry. 401 when no token is presented, 403 when it is not one that grants
 * the access (or when no admin token is configured: writes are then off). Tokens are compared as sha256 digests in
 * constant time, so neither their length nor their prefix leaks through timing.
 */
export class TokenCheck {
  private readonly admin?: Buffer;
  private readonly read?: Buffer;

  constructor(
    adminToken: string | undefined,
    readToken: string | undefined,
    private readonly readsRequireToken: boolean,
  ) {
    this.admin = adminToken ? digest(adminToken) : undefined;
    this.read = readToken ? digest(readToken) : undefined;
  }

  /** Returns the actor name to record: the X-Registry-Actor header, else 'admin'. */
  requireAdmin(authorization: string | undefined, actorHeader?: string): string {
    const token = bearer(authorization);
    if (!this.admin || !matches(token, this.admin)) {
      throw new ForbiddenException(
        this.admin
          ? 'the token does not grant model registry writes'
          : 'model registry writes are disabled (no REGISTRY_ADMIN_TOKEN)',
      );
    }
    const actor = actorHeader?.trim();
    return actor && actor.length <= 200 ? `admin:${actor}` : 'admin';
  }

  requireRead(authorization: string | undefined): void {
    if (!this.readsRequireToken) return;
    const token = bearer(authorization);
    if (!(this.admin && matches(token, this.admin)) && !(this.read && matches(token, this.read))) {
      throw new ForbiddenException('the token does not grant model registry reads');
    }
  }
}

function bearer(authorization: string | undefined): string {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
  if (!match) throw new UnauthorizedException('an Authorization: Bearer <token> header is required');
  return match[1];
}

function digest(token: string): Buffer {
  return createHash('sha256').update(token).digest();
}

function matches(token: string, expected: Buffer): boolean {
  return timingSafeEqual(digest(token), expected);
}
