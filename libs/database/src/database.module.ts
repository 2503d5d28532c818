import { HealthService } from '@flywheel/observability';
import { type DynamicModule, Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { DataSource, type EntitySchema, type MixedList } from 'typeorm';
import { ensureDatabase } from './ensure-database';

export interface DatabaseOptions {
  url: string;
  /** The Postgres schema this service owns; no service reads another's. */
  schema: string;
  // biome-ignore lint/complexity/noBannedTypes: TypeORM's own signature for entity classes.
  entities: MixedList<Function | string | EntitySchema>;
  // biome-ignore lint/complexity/noBannedTypes: TypeORM's own signature for migration classes.
  migrations: MixedList<Function | string>;
  poolSize?: number;
}

/**
 * TypeORM for one service: its own schema, migrations run at start-up (never `synchronize`), readiness
 * reflects whether Postgres answers, and the pool reconnects by itself when Postgres restarts.
 */
@Module({})
export class DatabaseModule {
  static forRoot(options: DatabaseOptions): DynamicModule {
    return {
      module: DatabaseModule,
      imports: [
        TypeOrmModule.forRootAsync({
          useFactory: async () => {
            await ensureDatabase(options.url, options.schema);
            return {
              type: 'postgres' as const,
              url: options.url,
              schema: options.schema,
              entities: options.entities,
              migrations: options.migrations,
              migrationsTableName: 'migrations',
              migrationsRun: true,
              migrationsTransactionMode: 'each' as const,
              synchronize: false,
              poolSize: options.poolSize ?? 10,
              extra: { connectionTimeoutMillis: 5_000 },
              retryAttempts: 10,
              retryDelay: 1_000,
            };
          },
        }),
      ],
      providers: [
        {
          provide: 'DATABASE_HEALTH',
          inject: [DataSource, HealthService],
          useFactory: (dataSource: DataSource, health: HealthService) => {
            health.register('postgres', async () => {
              await dataSource.query('SELECT 1');
              return { ok: true };
            });
            return true;
          },
        },
      ],
    };
  }
}
