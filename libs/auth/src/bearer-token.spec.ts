import { ForbiddenException, UnauthorizedException } from '@nestjs/common';
import { describe, expect, it } from 'vitest';
import { BearerToken, bearerFrom } from './bearer-token';

const messages = { wrong: 'wrong token', disabled: 'writes are off' };
const TOKEN = 'a-long-enough-admin-token';

describe('BearerToken', () => {
  it('401 without a bearer header (missing, empty, another scheme, no token)', () => {
    const check = new BearerToken(TOKEN);
    for (const header of [undefined, '', `Basic ${TOKEN}`, 'Bearer', 'Bearer  ', TOKEN]) {
      expect(() => check.require(header, messages), String(header)).toThrow(UnauthorizedException);
    }
  });

  it('403 with a wrong token, a prefix of the right one, or the right one plus more', () => {
    const check = new BearerToken(TOKEN);
    for (const token of ['nope', TOKEN.slice(0, -1), `${TOKEN}x`]) {
      expect(() => check.require(`Bearer ${token}`, messages)).toThrow(new ForbiddenException('wrong token'));
    }
  });

  it('403 for any token when none is configured (the endpoint is off), 401 still without a header', () => {
    const off = new BearerToken(undefined);
    expect(off.configured).toBe(false);
    expect(() => off.require(`Bearer ${TOKEN}`, messages)).toThrow(new ForbiddenException('writes are off'));
    expect(() => off.require(undefined, messages)).toThrow(UnauthorizedException);
    expect(off.matches(TOKEN)).toBe(false);
  });

  it('accepts the right token, whatever the scheme case and trailing spaces', () => {
    const check = new BearerToken(TOKEN);
    expect(() => check.require(`Bearer ${TOKEN}`, messages)).not.toThrow();
    expect(() => check.require(`bearer ${TOKEN}  `, messages)).not.toThrow();
    expect(bearerFrom(`BEARER ${TOKEN}`)).toBe(TOKEN);
  });
});
