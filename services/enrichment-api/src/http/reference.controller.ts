import {
  BadRequestException,
  Body,
  Controller,
  Delete,
  Get,
  HttpCode,
  NotFoundException,
  Param,
  PayloadTooLargeException,
  Post,
  Put,
  Query,
  Req,
  UnsupportedMediaTypeException,
  UseGuards,
} from '@nestjs/common';
import type { Request } from 'express';
import { formatOf } from '../reference/bulk-parser';
import { type BulkReport, ReferenceService } from '../reference/reference.service';
import { ReferenceStore } from '../reference/reference.store';
import { type FieldError, parseRow, REFERENCE_KINDS, type ReferenceKind } from '../reference/reference-rows';
import { AdminTokenGuard } from './admin-token.guard';

/** Bulk bodies are read as a stream here (Nest's JSON parser ignores CSV/NDJSON content types). */
const MAX_BULK_BYTES = 64 * 1024 * 1024;

function invalid(errors: FieldError[]): BadRequestException {
  return new BadRequestException({ statusCode: 400, error: 'Bad Request', message: 'invalid record', errors });
}

/** Reference-data API: reads are open, writes need the admin token. Every write NOTIFYs every instance. */
@Controller('v1/reference')
export class ReferenceController {
  constructor(
    private readonly store: ReferenceStore,
    private readonly reference: ReferenceService,
  ) {}

  @Get('accounts/:id')
  async getAccount(@Param('id') id: string) {
    const found = (await this.store.findAccounts([id])).get(id);
    if (!found) throw new NotFoundException(`account ${id} not found`);
    return found;
  }

  @Put('accounts/:id')
  @UseGuards(AdminTokenGuard)
  async putAccount(@Param('id') id: string, @Body() body: unknown) {
    const parsed = parseRow('accounts', { ...asObject(body), account_id: id });
    if (!parsed.ok) throw invalid(parsed.errors);
    await this.store.upsertAccounts([parsed.row]);
    return (await this.store.findAccounts([parsed.row.account_id])).get(parsed.row.account_id);
  }

  @Delete('accounts/:id')
  @UseGuards(AdminTokenGuard)
  @HttpCode(204)
  async deleteAccount(@Param('id') id: string) {
    if (!(await this.store.deleteAccount(id))) throw new NotFoundException(`account ${id} not found`);
  }

  @Get('merchants/:id')
  async getMerchant(@Param('id') id: string) {
    const found = (await this.store.findMerchants([id])).get(id);
    if (!found) throw new NotFoundException(`merchant ${id} not found`);
    return found;
  }

  @Put('merchants/:id')
  @UseGuards(AdminTokenGuard)
  async putMerchant(@Param('id') id: string, @Body() body: unknown) {
    const parsed = parseRow('merchants', { ...asObject(body), merchant_id: id });
    if (!parsed.ok) throw invalid(parsed.errors);
    await this.store.upsertMerchants([parsed.row]);
    return (await this.store.findMerchants([parsed.row.merchant_id])).get(parsed.row.merchant_id);
  }

  @Delete('merchants/:id')
  @UseGuards(AdminTokenGuard)
  @HttpCode(204)
  async deleteMerchant(@Param('id') id: string) {
    if (!(await this.store.deleteMerchant(id))) throw new NotFoundException(`merchant ${id} not found`);
  }

  /** Every version of a currency's rate, oldest first. */
  @Get('rates/:currency')
  async getRate(@Param('currency') currency: string) {
    const code = currency.toUpperCase();
    const versions = (await this.store.findRates([code])).get(code);
    if (!versions) throw new NotFoundException(`no rate for ${code}`);
    return { currency: code, versions };
  }

  /** Upserts the version starting at `valid_from` (default 0: in force for every event time). */
  @Put('rates/:currency')
  @UseGuards(AdminTokenGuard)
  async putRate(@Param('currency') currency: string, @Body() body: unknown) {
    const parsed = parseRow('rates', { ...asObject(body), currency });
    if (!parsed.ok) throw invalid(parsed.errors);
    await this.store.upsertRates([parsed.row]);
    return {
      currency: parsed.row.currency,
      versions: (await this.store.findRates([parsed.row.currency])).get(parsed.row.currency),
    };
  }

  /** Deletes every version, or with `?valid_from=` only that one. */
  @Delete('rates/:currency')
  @UseGuards(AdminTokenGuard)
  @HttpCode(204)
  async deleteRate(@Param('currency') currency: string, @Query('valid_from') validFrom?: string) {
    if (validFrom !== undefined && !/^-?\d+$/.test(validFrom)) {
      throw invalid([{ field: 'valid_from', reason: 'must be epoch milliseconds' }]);
    }
    const deleted = await this.store.deleteRates(
      currency.toUpperCase(),
      validFrom === undefined ? undefined : Number(validFrom),
    );
    if (deleted === 0) throw new NotFoundException(`no rate for ${currency.toUpperCase()}`);
  }

  /**
   * CSV (`text/csv`, header row) or NDJSON (`application/x-ndjson`). Valid rows are loaded even when others
   * fail; 200 with the per-row report either way (the caller reads `failed`).
   */
  @Post(':kind/bulk')
  @UseGuards(AdminTokenGuard)
  @HttpCode(200)
  async bulk(@Param('kind') kind: string, @Req() request: Request): Promise<BulkReport> {
    if (!(REFERENCE_KINDS as readonly string[]).includes(kind)) {
      throw new NotFoundException(`unknown reference kind '${kind}' (one of ${REFERENCE_KINDS.join(', ')})`);
    }
    const format = formatOf(request.headers['content-type']);
    if (!format) {
      throw new UnsupportedMediaTypeException('Content-Type must be text/csv or application/x-ndjson');
    }
    const text = await readBody(request);
    return this.reference.bulkLoad(kind as ReferenceKind, format, text);
  }
}

function asObject(body: unknown): Record<string, unknown> {
  return typeof body === 'object' && body !== null && !Array.isArray(body) ? (body as Record<string, unknown>) : {};
}

async function readBody(request: Request): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BULK_BYTES) throw new PayloadTooLargeException(`bulk body over ${MAX_BULK_BYTES} bytes`);
    chunks.push(chunk);
  }
  const text = new TextDecoder('utf-8', { fatal: false }).decode(Buffer.concat(chunks));
  return text;
}
