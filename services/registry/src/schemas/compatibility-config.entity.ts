import { Column, Entity, PrimaryColumn, UpdateDateColumn } from 'typeorm';
import type { CompatibilityLevel } from './compatibility';

/** The global level is the row with subject '' (a primary key cannot be NULL, and '' is not a valid subject). */
export const GLOBAL_CONFIG_SUBJECT = '';

@Entity({ name: 'compatibility_configs' })
export class CompatibilityConfigEntity {
  @PrimaryColumn({ type: 'text' })
  subject!: string;

  @Column({ type: 'text' })
  compatibility!: CompatibilityLevel;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt!: Date;
}
