import { Body, Controller, HttpCode, Param, Post, Query, UseFilters } from '@nestjs/common';
import { isTrue, parseSchemaRequest, parseVersion } from './requests';
import { SchemaRegistryService } from './schema-registry.service';
import { SchemaRegistryExceptionFilter } from './schema-registry-exception.filter';

type CompatibilityAnswer = { is_compatible: boolean; messages?: string[] };

/** Confluent's /compatibility resource: "would this schema be accepted?" without registering it (CI checks). */
@Controller('compatibility')
@UseFilters(SchemaRegistryExceptionFilter)
export class CompatibilityController {
  constructor(private readonly registry: SchemaRegistryService) {}

  @Post('subjects/:subject/versions/:version')
  @HttpCode(200)
  async againstVersion(
    @Param('subject') subject: string,
    @Param('version') version: string,
    @Body() body: unknown,
    @Query('verbose') verbose?: string,
  ): Promise<CompatibilityAnswer> {
    const result = await this.registry.testCompatibility(subject, parseVersion(version), parseSchemaRequest(body));
    return answer(result, isTrue(verbose));
  }

  /** Against every version a registration would be checked against (all live ones when the level is transitive). */
  @Post('subjects/:subject/versions')
  @HttpCode(200)
  async againstSubject(
    @Param('subject') subject: string,
    @Body() body: unknown,
    @Query('verbose') verbose?: string,
  ): Promise<CompatibilityAnswer> {
    const result = await this.registry.testCompatibility(subject, undefined, parseSchemaRequest(body));
    return answer(result, isTrue(verbose));
  }
}

function answer(result: { isCompatible: boolean; messages: string[] }, verbose: boolean): CompatibilityAnswer {
  return verbose
    ? { is_compatible: result.isCompatible, messages: result.messages }
    : { is_compatible: result.isCompatible };
}
