import { credentialFromHeaders } from '@flywheel/api-keys';
import { Controller, HttpCode, Post, Req, Res } from '@nestjs/common';
import type { Response } from 'express';
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
    // Written directly rather than with res.json: the same bytes and Content-Type, without Express hashing every
    // answer into an ETag (a per-event results list is never cached or revalidated).
    res.status(answer.status);
    res.setHeader('Content-Type', 'application/json; charset=utf-8');
    res.end(JSON.stringify(answer.body));
  }
}
