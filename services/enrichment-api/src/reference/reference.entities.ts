import { Column, Entity, PrimaryColumn } from 'typeorm';

/**
 * Reference data rows. Times are `bigint` epoch millis (the mesh's representation, see libs/contracts),
 * mapped to numbers by the transformer so nothing downstream meets a Date or a string.
 */
const epochMillis = {
  to: (value: number | null | undefined) => value,
  from: (value: string | null) => (value === null ? null : Number(value)),
};
const numeric = {
  to: (value: number | null | undefined) => value,
  from: (value: string | null) => (value === null ? null : Number(value)),
};

@Entity({ name: 'accounts' })
export class AccountEntity {
  @PrimaryColumn({ name: 'account_id', type: 'text' })
  accountId!: string;

  @Column({ name: 'home_country', type: 'text' })
  homeCountry!: string;

  @Column({ name: 'opened_at', type: 'bigint', transformer: epochMillis })
  openedAt!: number;

  @Column({ type: 'text' })
  segment!: string;

  @Column({ name: 'updated_at', type: 'bigint', transformer: epochMillis })
  updatedAt!: number;
}

@Entity({ name: 'merchants' })
export class MerchantEntity {
  @PrimaryColumn({ name: 'merchant_id', type: 'text' })
  merchantId!: string;

  @Column({ type: 'text' })
  mcc!: string;

  @Column({ type: 'text' })
  category!: string;

  @Column({ name: 'risk_tier', type: 'text' })
  riskTier!: string;

  @Column({ type: 'text' })
  country!: string;

  @Column({ name: 'updated_at', type: 'bigint', transformer: epochMillis })
  updatedAt!: number;
}

/** One row per (currency, valid_from): the rate in force at t is the row with the greatest valid_from <= t. */
@Entity({ name: 'currency_rates' })
export class CurrencyRateEntity {
  @PrimaryColumn({ type: 'text' })
  currency!: string;

  @PrimaryColumn({ name: 'valid_from', type: 'bigint', transformer: epochMillis })
  validFrom!: number;

  /** Units of the base currency for one unit of `currency`. */
  @Column({ name: 'rate_to_base', type: 'numeric', transformer: numeric })
  rateToBase!: number;

  @Column({ name: 'updated_at', type: 'bigint', transformer: epochMillis })
  updatedAt!: number;
}

export const REFERENCE_ENTITIES = [AccountEntity, MerchantEntity, CurrencyRateEntity] as const;
