import { Controller, HttpCode, Post, Req, Res } from '@nestjs/common';
import type { Response } from 'express';
import { credentialFromHeaders } from '../api-keys/api-key-format';
import { IngestService } from './ingest.service';
import type { RequestWithRawBody } from './raw-body.middleware';

@Controller('v1/events')
export class EventsController {
  constructor(private readonly ingest: IngestService) {}

  @Post()
  @HttpCode(200)
  async post(@Req() req: RequestWithRawBody, @Res() res: Response): Promise<void> {
    const answer = await this.ingest.ingest({
      credential: credentialFromHeaders(req.headers),
      contentType: req.headers['content-type'],
      contentEncoding: req.headers['content-encoding'],
      body: req.rawBody ?? Buffer.alloc(0),
    });
    for (const [name, value] of Object.entries(answer.headers ?? {})) res.setHeader(name, value);
    res.status(answer.status).json(answer.body);
  }
}
