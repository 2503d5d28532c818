import { Controller, Get, Param, Query, UseFilters } from '@nestjs/common';
import { isTrue, parseSchemaId } from './requests';
import { SchemaRegistryService, type SchemaView } from './schema-registry.service';
import { SchemaRegistryExceptionFilter } from './schema-registry-exception.filter';

/** Confluent's /schemas resource: schemas by global id, which is what consumers see in every message. */
@Controller('schemas')
@UseFilters(SchemaRegistryExceptionFilter)
export class SchemasController {
  constructor(private readonly registry: SchemaRegistryService) {}

  @Get('types')
  types(): string[] {
    return ['AVRO'];
  }

  @Get('ids/:id')
  byId(@Param('id') id: string): Promise<SchemaView> {
    return this.registry.getSchema(parseSchemaId(id));
  }

  @Get('ids/:id/schema')
  async rawById(@Param('id') id: string): Promise<string> {
    return (await this.registry.getSchema(parseSchemaId(id))).schema;
  }

  @Get('ids/:id/versions')
  versions(
    @Param('id') id: string,
    @Query('deleted') deleted?: string,
  ): Promise<Array<{ subject: string; version: number }>> {
    return this.registry.getSchemaVersions(parseSchemaId(id), isTrue(deleted));
  }

  @Get('ids/:id/subjects')
  subjects(@Param('id') id: string, @Query('deleted') deleted?: string): Promise<string[]> {
    return this.registry.getSchemaSubjects(parseSchemaId(id), isTrue(deleted));
  }
}
