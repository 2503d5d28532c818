import { Body, Controller, Delete, Get, Param, Put, Query, UseFilters } from '@nestjs/common';
import type { CompatibilityLevel } from './compatibility';
import { CompatibilityConfigService } from './compatibility-config.service';
import { isTrue, parseCompatibilityBody } from './requests';
import { subjectLevelConfigNotFound, subjectNotFound } from './schema-registry.errors';
import { SchemaRegistryExceptionFilter } from './schema-registry-exception.filter';

/**
 * Confluent's /config resource. Reads answer {"compatibilityLevel"}, writes echo {"compatibility"}: the two field
 * names differ in Confluent's API and clients depend on both.
 */
@Controller('config')
@UseFilters(SchemaRegistryExceptionFilter)
export class ConfigController {
  constructor(private readonly configs: CompatibilityConfigService) {}

  @Get()
  async getGlobal(): Promise<{ compatibilityLevel: CompatibilityLevel }> {
    return { compatibilityLevel: await this.configs.globalLevel() };
  }

  @Put()
  async setGlobal(@Body() body: unknown): Promise<{ compatibility: CompatibilityLevel }> {
    const compatibility = parseCompatibilityBody(body);
    await this.configs.setGlobalLevel(compatibility);
    return { compatibility };
  }

  /** Back to the built-in default; answers with the level that was set before. */
  @Delete()
  async resetGlobal(): Promise<{ compatibilityLevel: CompatibilityLevel }> {
    const previous = (await this.configs.resetGlobalLevel()) ?? (await this.configs.globalLevel());
    return { compatibilityLevel: previous };
  }

  /**
   * Without ?defaultToGlobal=true a subject with no level of its own is a 404 (40408). The kafkajs client relies on
   * that: it reads the 404 as "first registration" and then sets the subject's level.
   */
  @Get(':subject')
  async getSubject(
    @Param('subject') subject: string,
    @Query('defaultToGlobal') defaultToGlobal?: string,
  ): Promise<{ compatibilityLevel: CompatibilityLevel }> {
    if (isTrue(defaultToGlobal)) return { compatibilityLevel: await this.configs.effectiveLevel(subject) };
    const level = await this.configs.subjectLevel(subject);
    if (!level) throw subjectLevelConfigNotFound(subject);
    return { compatibilityLevel: level };
  }

  /** Allowed before the subject has any version, so a level can be set up front. */
  @Put(':subject')
  async setSubject(
    @Param('subject') subject: string,
    @Body() body: unknown,
  ): Promise<{ compatibility: CompatibilityLevel }> {
    const compatibility = parseCompatibilityBody(body);
    await this.configs.setSubjectLevel(subject, compatibility);
    return { compatibility };
  }

  @Delete(':subject')
  async deleteSubject(@Param('subject') subject: string): Promise<{ compatibilityLevel: CompatibilityLevel }> {
    const previous = await this.configs.removeSubjectLevel(subject);
    if (!previous) throw subjectNotFound(subject);
    return { compatibilityLevel: previous };
  }
}
