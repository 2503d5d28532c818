import { type MiddlewareConsumer, Module, type NestModule } from '@nestjs/common';
import { CompatibilityController } from './compatibility.controller';
import { CompatibilityConfigEntity } from './compatibility-config.entity';
import { CompatibilityConfigService } from './compatibility-config.service';
import { ConfigController } from './config.controller';
import { CreateSchemaRegistry1764288000000 } from './migrations/1764288000000-create-schema-registry';
import { SchemaEntity } from './schema.entity';
import { SchemaRegistryMetrics } from './schema-registry.metrics';
import { SchemaRegistryService } from './schema-registry.service';
import { SchemaRegistryHttpMiddleware } from './schema-registry-http.middleware';
import { SchemasController } from './schemas.controller';
import { SubjectVersionEntity } from './subject-version.entity';
import { SubjectsController } from './subjects.controller';

/** Handed to DatabaseModule.forRoot by AppModule (the registry has one DataSource for all its features). */
export const SCHEMA_REGISTRY_ENTITIES = [SchemaEntity, SubjectVersionEntity, CompatibilityConfigEntity] as const;
export const SCHEMA_REGISTRY_MIGRATIONS = [CreateSchemaRegistry1764288000000] as const;

const CONTROLLERS = [SubjectsController, SchemasController, ConfigController, CompatibilityController];

/** The Confluent-compatible schema registry API, stored in Postgres. Needs DatabaseModule and ObservabilityModule. */
@Module({
  controllers: CONTROLLERS,
  providers: [SchemaRegistryService, CompatibilityConfigService, SchemaRegistryMetrics],
})
export class SchemasModule implements NestModule {
  configure(consumer: MiddlewareConsumer): void {
    consumer.apply(SchemaRegistryHttpMiddleware).forRoutes(...CONTROLLERS);
  }
}
