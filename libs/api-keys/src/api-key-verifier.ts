import { parseApiKey, secretMatches } from './api-key-format';
import { type ApiKeyRecord } from './api-key-store';

export type Verification =
  | { status: 'ok'; id: string; producer: string }
  | { status: 'revoked'; id: string; producer: string }
  | { status: 'missing' }
  | { status: 'unknown' };

export interface KeyLookup {
  find(id: string): Promise<ApiKeyRecord | null>;
}

/**
 * Verifies presented keys against the store, caching each looked-up row for `ttlMs`. Every replica has
 * its own cache, so a revocation reaches all of them within `ttlMs` (default 5 s) with no coordination.
 * Only rows that exist are cached (bounded by the number of keys); a secret is re-checked against the
 * cached hash on every request, so a wrong secret for a known id never rides on a cached success.
 */
export class ApiKeyVerifier {
  private readonly cache = new Map<string, { record: ApiKeyRecord; expires: number }>();

  constructor(
    private readonly store: KeyLookup,
    private readonly ttlMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  async verify(credential: string | undefined): Promise<Verification> {
    if (!credential) return { status: 'missing' };
    const parsed = parseApiKey(credential);
    if (!parsed) return { status: 'unknown' };
    const record = await this.lookup(parsed.id);
    if (!record || !secretMatches(parsed.secret, record.salt, record.secretHash)) return { status: 'unknown' };
    return { status: record.revokedAt ? 'revoked' : 'ok', id: record.id, producer: record.producer };
  }

  private async lookup(id: string): Promise<ApiKeyRecord | null> {
    const cached = this.cache.get(id);
    if (cached && cached.expires > this.now()) return cached.record;
    const record = await this.store.find(id);
    if (record && this.ttlMs > 0) this.cache.set(id, { record, expires: this.now() + this.ttlMs });
    else this.cache.delete(id);
    return record;
  }
}
