import {
  BadRequestException,
  Body,
  Controller,
  Delete,
  Get,
  Headers,
  HttpCode,
  HttpStatus,
  Inject,
  Param,
  Post,
  Put,
  Query,
  Res,
} from '@nestjs/common';
import type { Response } from 'express';
import { TokenCheck } from './admin-auth';
import { ModelRegistryService } from './model-registry.service';
import {
  aliasSchema,
  createVersionSchema,
  parseBody,
  parseName,
  parseVersion,
  stageChangeSchema,
} from './model-requests';

/** The model registry HTTP API (README: endpoints). Writes need the admin token; reads optionally a token. */
@Controller('v1/models')
export class ModelsController {
  constructor(
    private readonly registry: ModelRegistryService,
    @Inject(TokenCheck) private readonly tokens: TokenCheck,
  ) {}

  @Get()
  list(@Headers('authorization') authorization?: string) {
    this.tokens.requireRead(authorization);
    return this.registry.listModels();
  }

  @Get(':name')
  get(@Param('name') name: string, @Headers('authorization') authorization?: string) {
    this.tokens.requireRead(authorization);
    return this.registry.getModel(parseName(name, 'model'));
  }

  @Get(':name/versions')
  versions(@Param('name') name: string, @Headers('authorization') authorization?: string) {
    this.tokens.requireRead(authorization);
    return this.registry.listVersions(parseName(name, 'model'));
  }

  @Get(':name/versions/:version')
  version(
    @Param('name') name: string,
    @Param('version') version: string,
    @Headers('authorization') authorization?: string,
  ) {
    this.tokens.requireRead(authorization);
    return this.registry.getVersion(parseName(name, 'model'), parseVersion(version));
  }

  @Get(':name/aliases/:alias')
  alias(@Param('name') name: string, @Param('alias') alias: string, @Headers('authorization') authorization?: string) {
    this.tokens.requireRead(authorization);
    return this.registry.getAlias(parseName(name, 'model'), parseName(alias, 'alias'));
  }

  @Get(':name/history')
  history(@Param('name') name: string, @Headers('authorization') authorization?: string) {
    this.tokens.requireRead(authorization);
    return this.registry.getHistory(parseName(name, 'model'));
  }

  @Get(':name/compare')
  compare(
    @Param('name') name: string,
    @Query('a') a: string | undefined,
    @Query('b') b: string | undefined,
    @Headers('authorization') authorization?: string,
  ) {
    this.tokens.requireRead(authorization);
    return this.registry.compare(parseName(name, 'model'), parseVersion(a, 'a'), parseVersion(b, 'b'));
  }

  @Post(':name/versions')
  async create(
    @Param('name') name: string,
    @Body() body: unknown,
    @Headers('authorization') authorization: string | undefined,
    @Headers('x-registry-actor') actorName: string | undefined,
    @Res({ passthrough: true }) response: Response,
  ) {
    const actor = this.tokens.requireAdmin(authorization, actorName);
    const request = parseBody(createVersionSchema, body);
    const { created, version } = await this.registry.createVersion(parseName(name, 'model'), request, actor);
    response.status(created ? HttpStatus.CREATED : HttpStatus.OK);
    return version;
  }

  @Post(':name/versions/:version/stage')
  @HttpCode(HttpStatus.OK)
  async stage(
    @Param('name') name: string,
    @Param('version') version: string,
    @Body() body: unknown,
    @Headers('authorization') authorization: string | undefined,
    @Headers('x-registry-actor') actorName: string | undefined,
  ) {
    const actor = this.tokens.requireAdmin(authorization, actorName);
    const request = parseBody(stageChangeSchema, body);
    const archiveExisting = request.archive_existing ?? true;
    const { changed, version: view } = await this.registry.setStage(
      parseName(name, 'model'),
      parseVersion(version),
      request.stage,
      actor,
      request.reason ?? null,
      archiveExisting,
    );
    return { ...view, changed };
  }

  @Put(':name/aliases/:alias')
  async setAlias(
    @Param('name') name: string,
    @Param('alias') alias: string,
    @Body() body: unknown,
    @Headers('authorization') authorization: string | undefined,
    @Headers('x-registry-actor') actorName: string | undefined,
  ) {
    const actor = this.tokens.requireAdmin(authorization, actorName);
    const request = parseBody(aliasSchema, body);
    const { changed, version } = await this.registry.setAlias(
      parseName(name, 'model'),
      parseName(alias, 'alias'),
      request.version,
      actor,
      request.reason ?? null,
    );
    return { ...version, changed };
  }

  @Delete(':name/aliases/:alias')
  async removeAlias(
    @Param('name') name: string,
    @Param('alias') alias: string,
    @Body() body: unknown,
    @Headers('authorization') authorization: string | undefined,
    @Headers('x-registry-actor') actorName: string | undefined,
  ) {
    const actor = this.tokens.requireAdmin(authorization, actorName);
    const reason = (body as { reason?: unknown } | undefined)?.reason;
    if (reason !== undefined && typeof reason !== 'string') throw new BadRequestException('reason must be a string');
    const removed = await this.registry.removeAlias(
      parseName(name, 'model'),
      parseName(alias, 'alias'),
      actor,
      reason ?? null,
    );
    return { alias, removed_from_version: removed.version };
  }
}
