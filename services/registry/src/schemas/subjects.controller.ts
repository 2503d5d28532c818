import { Body, Controller, Delete, Get, HttpCode, Param, Post, Query, UseFilters } from '@nestjs/common';
import { isTrue, parseSchemaRequest, parseVersion } from './requests';
import { SchemaRegistryService, type SubjectVersionView } from './schema-registry.service';
import { SchemaRegistryExceptionFilter } from './schema-registry-exception.filter';

/** Confluent's /subjects resource: versions of a schema under a name (usually `<topic>-value`). */
@Controller('subjects')
@UseFilters(SchemaRegistryExceptionFilter)
export class SubjectsController {
  constructor(private readonly registry: SchemaRegistryService) {}

  @Get()
  list(@Query('deleted') deleted?: string): Promise<string[]> {
    return this.registry.listSubjects(isTrue(deleted));
  }

  @Get(':subject/versions')
  versions(@Param('subject') subject: string, @Query('deleted') deleted?: string): Promise<number[]> {
    return this.registry.listVersions(subject, isTrue(deleted));
  }

  @Get(':subject/versions/:version')
  version(
    @Param('subject') subject: string,
    @Param('version') version: string,
    @Query('deleted') deleted?: string,
  ): Promise<SubjectVersionView> {
    return this.registry.getVersion(subject, parseVersion(version), isTrue(deleted));
  }

  /** The schema text alone, as Confluent serves it (the body is the schema's JSON). */
  @Get(':subject/versions/:version/schema')
  async rawSchema(
    @Param('subject') subject: string,
    @Param('version') version: string,
    @Query('deleted') deleted?: string,
  ): Promise<string> {
    return (await this.registry.getVersion(subject, parseVersion(version), isTrue(deleted))).schema;
  }

  @Post(':subject/versions')
  @HttpCode(200)
  register(@Param('subject') subject: string, @Body() body: unknown): Promise<{ id: number }> {
    return this.registry.register(subject, parseSchemaRequest(body));
  }

  @Post(':subject')
  @HttpCode(200)
  lookup(
    @Param('subject') subject: string,
    @Body() body: unknown,
    @Query('deleted') deleted?: string,
  ): Promise<SubjectVersionView> {
    return this.registry.lookup(subject, parseSchemaRequest(body), isTrue(deleted));
  }

  @Delete(':subject')
  deleteSubject(@Param('subject') subject: string, @Query('permanent') permanent?: string): Promise<number[]> {
    return this.registry.deleteSubject(subject, isTrue(permanent));
  }

  @Delete(':subject/versions/:version')
  deleteVersion(
    @Param('subject') subject: string,
    @Param('version') version: string,
    @Query('permanent') permanent?: string,
  ): Promise<number> {
    return this.registry.deleteVersion(subject, parseVersion(version), isTrue(permanent));
  }
}
