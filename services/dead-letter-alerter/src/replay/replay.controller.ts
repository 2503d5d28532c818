import { Body, Controller, Get, HttpCode, Param, Post, Req, UseGuards } from '@nestjs/common';
import type { Request } from 'express';
import { z } from 'zod';
import { listParam, parseOrBadRequest, timeParam } from '../browse/query';
import { AdminTokenGuard } from './admin-token.guard';
import { ReplayService } from './replay.service';

const ReplayBody = z
  .object({
    kinds: listParam.optional(),
    kind: listParam.optional(),
    from: timeParam.optional(),
    to: timeParam.optional(),
    key: z.string().optional(),
    eventIds: z.array(z.string().min(1)).optional(),
    offsets: z
      .union([
        z.array(z.number().int().min(0)),
        z.object({ from: z.number().int().min(0).optional(), to: z.number().int().min(0).optional() }).strict(),
      ])
      .optional(),
    dryRun: z.boolean().default(false),
  })
  .strict();

/** Replay (admin token): `POST /v1/dlq/{topic}/replay` → 202 + the replay resource; poll `GET /v1/replays/{id}`. */
@Controller()
@UseGuards(AdminTokenGuard)
export class ReplayController {
  constructor(private readonly replays: ReplayService) {}

  @Post('v1/dlq/:topic/replay')
  @HttpCode(202)
  async replay(@Param('topic') topic: string, @Body() body: unknown, @Req() request: Request & { actor?: string }) {
    const b = parseOrBadRequest(ReplayBody, body ?? {});
    const kinds = [...(b.kinds ?? []), ...(b.kind ?? [])];
    return this.replays.start(
      topic,
      {
        kinds: kinds.length ? kinds : undefined,
        from: b.from,
        to: b.to,
        key: b.key,
        eventIds: b.eventIds,
        offsets: Array.isArray(b.offsets) ? b.offsets : undefined,
        offsetFrom: Array.isArray(b.offsets) ? undefined : b.offsets?.from,
        offsetTo: Array.isArray(b.offsets) ? undefined : b.offsets?.to,
        dryRun: b.dryRun,
      },
      request.actor ?? 'admin',
    );
  }

  @Get('v1/replays/:id')
  status(@Param('id') id: string) {
    return this.replays.status(id);
  }

  @Get('v1/replays')
  async list() {
    return { replays: await this.replays.recent() };
  }
}
