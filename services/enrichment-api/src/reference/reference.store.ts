import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { type DataSource, In } from 'typeorm';
import type { AccountRef, MerchantRef, RateVersion } from '../enrichment/enrichment.model';
import { AccountEntity, CurrencyRateEntity, MerchantEntity } from './reference.entities';
import type { AccountRow, MerchantRow, RateRow } from './reference-rows';

/** Postgres access for reference data (schema `enrichment`). Every write fires the NOTIFY trigger. */
@Injectable()
export class ReferenceStore {
  constructor(@InjectDataSource() private readonly db: DataSource) {}

  private get accounts() {
    return this.db.getRepository(AccountEntity);
  }
  private get merchants() {
    return this.db.getRepository(MerchantEntity);
  }
  private get rates() {
    return this.db.getRepository(CurrencyRateEntity);
  }

  async findAccounts(ids: string[]): Promise<Map<string, AccountRef>> {
    if (ids.length === 0) return new Map();
    const rows = await this.accounts.findBy({ accountId: In(ids) });
    return new Map(rows.map((r) => [r.accountId, toAccount(r)]));
  }

  async findMerchants(ids: string[]): Promise<Map<string, MerchantRef>> {
    if (ids.length === 0) return new Map();
    const rows = await this.merchants.findBy({ merchantId: In(ids) });
    return new Map(rows.map((r) => [r.merchantId, toMerchant(r)]));
  }

  async findRates(currencies: string[]): Promise<Map<string, RateVersion[]>> {
    if (currencies.length === 0) return new Map();
    const rows = await this.rates.find({ where: { currency: In(currencies) }, order: { validFrom: 'ASC' } });
    const byCurrency = new Map<string, RateVersion[]>();
    for (const r of rows) {
      const versions = byCurrency.get(r.currency) ?? [];
      versions.push({ valid_from: r.validFrom, rate_to_base: r.rateToBase });
      byCurrency.set(r.currency, versions);
    }
    return byCurrency;
  }

  async upsertAccounts(rows: AccountRow[], now = Date.now()): Promise<void> {
    if (rows.length === 0) return;
    await this.accounts.upsert(
      rows.map((r) => ({
        accountId: r.account_id,
        homeCountry: r.home_country,
        openedAt: r.opened_at,
        segment: r.segment,
        updatedAt: now,
      })),
      ['accountId'],
    );
  }

  async upsertMerchants(rows: MerchantRow[], now = Date.now()): Promise<void> {
    if (rows.length === 0) return;
    await this.merchants.upsert(
      rows.map((r) => ({
        merchantId: r.merchant_id,
        mcc: r.mcc,
        category: r.category,
        riskTier: r.risk_tier,
        country: r.country,
        updatedAt: now,
      })),
      ['merchantId'],
    );
  }

  async upsertRates(rows: RateRow[], now = Date.now()): Promise<void> {
    if (rows.length === 0) return;
    await this.rates.upsert(
      rows.map((r) => ({ currency: r.currency, validFrom: r.valid_from, rateToBase: r.rate_to_base, updatedAt: now })),
      ['currency', 'validFrom'],
    );
  }

  async deleteAccount(id: string): Promise<boolean> {
    return ((await this.accounts.delete({ accountId: id })).affected ?? 0) > 0;
  }

  async deleteMerchant(id: string): Promise<boolean> {
    return ((await this.merchants.delete({ merchantId: id })).affected ?? 0) > 0;
  }

  /** Every version of the currency, or only the one starting at `validFrom`. */
  async deleteRates(currency: string, validFrom?: number): Promise<number> {
    const where = validFrom === undefined ? { currency } : { currency, validFrom };
    return (await this.rates.delete(where)).affected ?? 0;
  }
}

function toAccount(r: AccountEntity): AccountRef {
  return {
    account_id: r.accountId,
    home_country: r.homeCountry,
    opened_at: r.openedAt,
    segment: r.segment,
    updated_at: r.updatedAt,
  };
}

function toMerchant(r: MerchantEntity): MerchantRef {
  return {
    merchant_id: r.merchantId,
    mcc: r.mcc,
    category: r.category,
    risk_tier: r.riskTier as MerchantRef['risk_tier'],
    country: r.country,
    updated_at: r.updatedAt,
  };
}
