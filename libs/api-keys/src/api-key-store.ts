import type { DataSource } from 'typeorm';
import { generateApiKey, hashSecret, newSalt } from './api-key-format';
import { API_KEYS_SCHEMA } from './api-keys-schema';
import { CreateApiKeys1766000000000 } from './migrations/1766000000000-create-api-keys';

export const API_KEY_MIGRATIONS = [CreateApiKeys1766000000000];

export interface ApiKeyRecord {
  id: string;
  producer: string;
  salt: Buffer;
  secretHash: Buffer;
  createdAt: Date;
  revokedAt: Date | null;
}

const table = `"${API_KEYS_SCHEMA}".api_keys`;

/** The api_keys table, shared by the service (lookups) and the CLI (create, revoke, list). */
export class ApiKeyStore {
  constructor(private readonly db: DataSource) {}

  /** Creates a key for a producer; the returned `key` is the only time the secret exists in clear. */
  async create(producer: string): Promise<{ id: string; producer: string; key: string }> {
    const { id, secret, key } = generateApiKey();
    const salt = newSalt();
    await this.db.query(`INSERT INTO ${table} (id, producer, salt, secret_hash) VALUES ($1, $2, $3, $4)`, [
      id,
      producer,
      salt,
      hashSecret(secret, salt),
    ]);
    return { id, producer, key };
  }

  /** true when the key existed and was not revoked yet. */
  async revoke(id: string): Promise<boolean> {
    const rows: unknown[] = await this.db.query(
      `UPDATE ${table} SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL RETURNING id`,
      [id],
    );
    return rowCount(rows) > 0;
  }

  async find(id: string): Promise<ApiKeyRecord | null> {
    const rows: RawRow[] = await this.db.query(`SELECT * FROM ${table} WHERE id = $1`, [id]);
    return rows[0] ? toRecord(rows[0]) : null;
  }

  async list(): Promise<Omit<ApiKeyRecord, 'salt' | 'secretHash'>[]> {
    const rows: RawRow[] = await this.db.query(`SELECT * FROM ${table} ORDER BY created_at, id`);
    return rows.map((row) => {
      const { salt: _salt, secretHash: _hash, ...rest } = toRecord(row);
      return rest;
    });
  }
}

interface RawRow {
  id: string;
  producer: string;
  salt: Buffer;
  secret_hash: Buffer;
  created_at: Date;
  revoked_at: Date | null;
}

function toRecord(row: RawRow): ApiKeyRecord {
  return {
    id: row.id,
    producer: row.producer,
    salt: row.salt,
    secretHash: row.secret_hash,
    createdAt: row.created_at,
    revokedAt: row.revoked_at,
  };
}

/** TypeORM's postgres driver answers UPDATE … RETURNING with [rows, count]. */
function rowCount(result: unknown[]): number {
  if (result.length === 2 && Array.isArray(result[0]) && typeof result[1] === 'number') return result[1];
  return result.length;
}
