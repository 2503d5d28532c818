import { describe, expect, it } from 'vitest';
import { credentialFromHeaders, generateApiKey, hashSecret, newSalt, parseApiKey } from './api-key-format';
import type { ApiKeyRecord } from './api-key-store';
import { ApiKeyVerifier } from './api-key-verifier';

function storeWith(secret: string, id: string, revokedAt: Date | null = null) {
  const salt = newSalt();
  const record: ApiKeyRecord = {
    id,
    producer: 'pos',
    salt,
    secretHash: hashSecret(secret, salt),
    createdAt: new Date(),
    revokedAt,
  };
  const calls: string[] = [];
  return {
    record,
    calls,
    find: async (wanted: string) => {
      calls.push(wanted);
      return wanted === id ? { ...record } : null;
    },
  };
}

describe('api key format', () => {
  it('generates keys that parse back to their id and secret', () => {
    const { id, secret, key } = generateApiKey();
    expect(key).toMatch(/^fw_[0-9a-f]{12}_/);
    expect(parseApiKey(key)).toEqual({ id, secret });
  });

  it('rejects text that is not a key', () => {
    for (const text of ['', 'fw_', 'fw_abc_def', 'Bearer x', `fw_${'0'.repeat(12)}_short`, undefined]) {
      expect(parseApiKey(text)).toBeNull();
    }
  });

  it('reads Bearer and X-API-Key headers', () => {
    expect(credentialFromHeaders({ authorization: 'Bearer abc' })).toBe('abc');
    expect(credentialFromHeaders({ 'x-api-key': ' k ' })).toBe('k');
    expect(credentialFromHeaders({ authorization: 'Basic zzz' })).toBeUndefined();
    expect(credentialFromHeaders({})).toBeUndefined();
  });
});

describe('ApiKeyVerifier', () => {
  it('accepts the right secret and refuses a wrong one for the same id', async () => {
    const { id, secret, key } = generateApiKey();
    const store = storeWith(secret, id);
    const verifier = new ApiKeyVerifier(store, 5_000);
    expect(await verifier.verify(key)).toEqual({ status: 'ok', id, producer: 'pos' });
    const other = generateApiKey();
    expect(await verifier.verify(`fw_${id}_${other.secret}`)).toEqual({ status: 'unknown' });
    expect(await verifier.verify(undefined)).toEqual({ status: 'missing' });
    expect(await verifier.verify(other.key)).toEqual({ status: 'unknown' });
  });

  it('caches a row for the ttl, then sees a revocation', async () => {
    const { id, secret, key } = generateApiKey();
    const store = storeWith(secret, id);
    let now = 0;
    const verifier = new ApiKeyVerifier(store, 5_000, () => now);
    await verifier.verify(key);
    await verifier.verify(key);
    expect(store.calls).toHaveLength(1);
    store.record.revokedAt = new Date();
    // the cached copy still says active until the ttl passes
    expect((await verifier.verify(key)).status).toBe('ok');
    now = 5_001;
    expect((await verifier.verify(key)).status).toBe('revoked');
    expect(store.calls).toHaveLength(2);
  });
});
