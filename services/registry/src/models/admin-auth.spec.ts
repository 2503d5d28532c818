import { ForbiddenException, UnauthorizedException } from '@nestjs/common';
import { describe, expect, it } from 'vitest';
import { TokenCheck } from './admin-auth';

const ADMIN = 'admin-token-0123456789';
const READ = 'read-token-0123456789';

describe('TokenCheck', () => {
  it('answers 401 without a bearer token and 403 with a wrong one', () => {
    const check = new TokenCheck(ADMIN, undefined, false);
    expect(() => check.requireAdmin(undefined)).toThrow(UnauthorizedException);
    expect(() => check.requireAdmin('Basic abc')).toThrow(UnauthorizedException);
    expect(() => check.requireAdmin('Bearer nope')).toThrow(ForbiddenException);
    expect(check.requireAdmin(`Bearer ${ADMIN}`)).toBe('admin');
    expect(check.requireAdmin(`Bearer ${ADMIN}`, 'alice')).toBe('admin:alice');
  });

  it('refuses every write when no admin token is configured', () => {
    expect(() => new TokenCheck(undefined, undefined, false).requireAdmin(`Bearer ${ADMIN}`)).toThrow(
      ForbiddenException,
    );
  });

  it('leaves reads open unless configured, then takes the read or the admin token', () => {
    expect(() => new TokenCheck(ADMIN, READ, false).requireRead(undefined)).not.toThrow();
    const check = new TokenCheck(ADMIN, READ, true);
    expect(() => check.requireRead(undefined)).toThrow(UnauthorizedException);
    expect(() => check.requireRead('Bearer wrong')).toThrow(ForbiddenException);
    expect(() => check.requireRead(`Bearer ${READ}`)).not.toThrow();
    expect(() => check.requireRead(`Bearer ${ADMIN}`)).not.toThrow();
    // The read token never grants writes.
    expect(() => check.requireAdmin(`Bearer ${READ}`)).toThrow(ForbiddenException);
  });
});
