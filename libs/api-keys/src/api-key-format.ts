import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * API keys look like `fw_<id>_<secret>`: the id (12 hex chars) is public and recorded on every event;
 * the secret (32 random bytes, base64url) is shown once and stored only as sha256(salt ‖ secret). A
 * 256-bit random secret cannot be brute-forced, so a fast salted hash is enough (no scrypt cost on the
 * request path); the per-key salt keeps equal secrets from having equal hashes.
 */
export interface ParsedApiKey {
  id: string;
  secret: string;
}

const KEY_PATTERN = /^fw_([0-9a-f]{12})_([A-Za-z0-9_-]{43})$/;

export function generateApiKey(): { id: string; secret: string; key: string } {
  const id = randomBytes(6).toString('hex');
  const secret = randomBytes(32).toString('base64url');
  return { id, secret, key: `fw_${id}_${secret}` };
}

/** null when the text is not shaped like a key (answered 401 like an unknown key). */
export function parseApiKey(text: string | undefined | null): ParsedApiKey | null {
  const match = KEY_PATTERN.exec((text ?? '').trim());
  return match ? { id: match[1], secret: match[2] } : null;
}

export function newSalt(): Buffer {
  return randomBytes(16);
}

export function hashSecret(secret: string, salt: Buffer): Buffer {
  return createHash('sha256').update(salt).update(secret, 'utf8').digest();
}

/** Constant-time comparison of the presented secret's hash with the stored one. */
export function secretMatches(secret: string, salt: Buffer, storedHash: Buffer): boolean {
  const presented = hashSecret(secret, salt);
  return presented.length === storedHash.length && timingSafeEqual(presented, storedHash);
}

/** The credential from `Authorization: Bearer <key>` or `X-API-Key: <key>`. */
export function credentialFromHeaders(headers: Record<string, string | string[] | undefined>): string | undefined {
  const auth = first(headers.authorization);
  if (auth) {
    const match = /^Bearer\s+(.+)$/i.exec(auth.trim());
    if (match) return match[1].trim();
  }
  return first(headers['x-api-key'])?.trim() || undefined;
}

function first(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
