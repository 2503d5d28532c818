import {
  BadRequestException,
  Controller,
  Get,
  Headers,
  HttpStatus,
  Inject,
  Param,
  Put,
  Req,
  Res,
  UnsupportedMediaTypeException,
} from '@nestjs/common';
import type { Request, Response } from 'express';
import { TokenCheck } from './admin-auth';
import { ModelRegistryService } from './model-registry.service';
import { SHA256_HEX } from './model-requests';
import { artifactUri } from './models.tokens';

/**
 * Immutable artifact bytes addressed by their sha256. The body is read raw (see models-bootstrap.ts), so a JSON
 * artifact is stored byte for byte as uploaded and its sha256 is the one the uploader computed.
 */
@Controller('v1/artifacts')
export class ArtifactsController {
  constructor(
    private readonly registry: ModelRegistryService,
    @Inject(TokenCheck) private readonly tokens: TokenCheck,
  ) {}

  @Put(':sha256')
  async upload(
    @Param('sha256') sha256: string,
    @Headers('authorization') authorization: string | undefined,
    @Req() request: Request,
    @Res({ passthrough: true }) response: Response,
  ) {
    this.tokens.requireAdmin(authorization);
    const claimed = parseSha(sha256);
    if (!Buffer.isBuffer(request.body)) {
      throw new UnsupportedMediaTypeException('send the artifact bytes as the request body');
    }
    const contentType = (request.headers['content-type'] ?? 'application/octet-stream').split(';')[0].trim();
    const { created, size } = await this.registry.putArtifact(claimed, request.body, contentType);
    response.status(created ? HttpStatus.CREATED : HttpStatus.OK);
    return { artifact_sha256: claimed, artifact_uri: artifactUri(claimed), size_bytes: size, created };
  }

  @Get(':sha256')
  async download(
    @Param('sha256') sha256: string,
    @Headers('authorization') authorization: string | undefined,
    @Headers('if-none-match') ifNoneMatch: string | undefined,
    @Res() response: Response,
  ): Promise<void> {
    this.tokens.requireRead(authorization);
    const sha = parseSha(sha256);
    const etag = `"${sha}"`;
    response.setHeader('ETag', etag);
    response.setHeader('X-Artifact-Sha256', sha);
    response.setHeader('Cache-Control', 'public, max-age=31536000, immutable');
    const artifact = await this.registry.getArtifact(sha);
    if (ifNoneMatch?.split(',').some((tag) => tag.trim() === etag)) {
      response.status(HttpStatus.NOT_MODIFIED).end();
      return;
    }
    response.setHeader('Content-Type', artifact.contentType);
    response.status(HttpStatus.OK).send(artifact.bytes);
  }
}

function parseSha(value: string): string {
  if (!SHA256_HEX.test(value)) throw new BadRequestException('the artifact id is a lower-case hex sha256');
  return value;
}
