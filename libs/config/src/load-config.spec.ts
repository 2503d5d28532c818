import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ConfigError } from './config-error';
import { httpEnv, kafkaEnv } from './env-schemas';
import { loadConfig } from './load-config';

const Schema = z.object({ ...httpEnv, ...kafkaEnv, API_TOKEN: z.string().min(32) });

describe('loadConfig', () => {
  it('parses and applies defaults', () => {
    const cfg = loadConfig(Schema, { HTTP_PORT: '8080', API_TOKEN: 'x'.repeat(32) });
    expect(cfg.HTTP_PORT).toBe(8080);
    expect(cfg.KAFKA_BROKERS).toEqual(['127.0.0.1:9092']);
    expect(Object.isFrozen(cfg)).toBe(true);
  });

  it('splits broker lists', () => {
    const cfg = loadConfig(Schema, { HTTP_PORT: '1', KAFKA_BROKERS: 'a:1, b:2', API_TOKEN: 'x'.repeat(32) });
    expect(cfg.KAFKA_BROKERS).toEqual(['a:1', 'b:2']);
  });

  it('names every bad variable and never echoes a secret', () => {
    let error: unknown;
    try {
      loadConfig(Schema, { HTTP_PORT: 'eighty', API_TOKEN: 'short-secret' });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as ConfigError).message;
    expect(message).toContain('HTTP_PORT');
    expect(message).toContain('"eighty"');
    expect(message).toContain('API_TOKEN');
    expect(message).not.toContain('short-secret');
  });

  it('never echoes the password of a connection string it refuses', () => {
    const schema = z.object({ DATABASE_URL: z.string().regex(/^postgres:\/\//, 'must be a postgres:// URL') });
    let error: unknown;
    try {
      loadConfig(schema, { DATABASE_URL: 'mysql://app:pw-Xy7@db.internal:3306/flywheel' });
    } catch (e) {
      error = e;
    }
    const message = (error as ConfigError).message;
    expect(message).toContain('DATABASE_URL');
    expect(message).toContain('mysql://app:[redacted]@db.internal:3306/flywheel');
    expect(message).not.toContain('pw-Xy7');
  });
});
