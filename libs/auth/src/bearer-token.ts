import { createHash, timingSafeEqual } from 'node:crypto';
import { ForbiddenException, UnauthorizedException } from '@nestjs/common';

/**
 * The one bearer-token rule of every admin endpoint in the mesh (model registry, enrichment-api reference data,
 * dead-letter-alerter replay): 401 when no `Authorization: Bearer <token>` is presented, 403 when the token does
 * not grant the access or when no token is configured (the endpoint is then off). Tokens are compared as sha256
 * digests in constant time, so neither their length nor a matching prefix leaks through timing.
 */
export class BearerToken {
  private readonly digest?: Buffer;

  constructor(token: string | undefined) {
    this.digest = token ? sha256(token) : undefined;
  }

  get configured(): boolean {
    return this.digest !== undefined;
  }

  /** Whether `token` is this one (false when none is configured). */
  matches(token: string): boolean {
    return this.digest !== undefined && timingSafeEqual(sha256(token), this.digest);
  }

  /**
   * Throws 401 without a bearer token, 403 with a wrong one (`wrong`) or when none is configured (`disabled`).
   */
  require(authorization: string | undefined, messages: { wrong: string; disabled: string }): void {
    const token = bearerFrom(authorization);
    if (!this.configured) throw new ForbiddenException(messages.disabled);
    if (!this.matches(token)) throw new ForbiddenException(messages.wrong);
  }
}

/** The token of an `Authorization: Bearer <token>` header; 401 when the header is missing or of another scheme. */
export function bearerFrom(authorization: string | undefined): string {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
  if (!match) throw new UnauthorizedException('an Authorization: Bearer <token> header is required');
  return match[1];
}

function sha256(token: string): Buffer {
  return createHash('sha256').update(token).digest();
}
