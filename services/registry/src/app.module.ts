import { DatabaseModule } from '@flywheel/database';
import { ObservabilityModule, type ServiceContext } from '@flywheel/observability';
import { type DynamicModule, Module } from '@nestjs/common';
import type { RegistryConfig } from './config';
import { DATABASE_SCHEMA } from './database-schema';
import { SCHEMA_REGISTRY_ENTITIES, SCHEMA_REGISTRY_MIGRATIONS, SchemasModule } from './schemas/schemas.module';

/** Wiring only. The model registry will add its entities, migrations and module next to the schema registry's. */
@Module({})
export class AppModule {
  static register(context: ServiceContext<RegistryConfig>): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ObservabilityModule.forRoot({ logger: context.logger, registry: context.metrics }),
        DatabaseModule.forRoot({
          url: context.config.DATABASE_URL,
          schema: DATABASE_SCHEMA,
          entities: [...SCHEMA_REGISTRY_ENTITIES],
          migrations: [...SCHEMA_REGISTRY_MIGRATIONS],
        }),
        SchemasModule,
      ],
    };
  }
}
