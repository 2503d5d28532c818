import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn, Unique } from 'typeorm';
import type { SchemaReference } from './avro-schema';

/**
 * One row per distinct schema; its id is the global id written into every Kafka message (Confluent wire format),
 * so it never changes and is shared by every subject that registers the same schema.
 */
@Entity({ name: 'schemas' })
@Unique('schemas_fingerprint_key', ['fingerprint'])
export class SchemaEntity {
  @PrimaryGeneratedColumn({ type: 'integer' })
  id!: number;

  @Column({ name: 'schema_type', type: 'text', default: 'AVRO' })
  schemaType!: string;

  /** As first registered (compacted JSON): what clients get back. */
  @Column({ type: 'text' })
  schema!: string;

  /** See avro-schema.ts `canonicalForm`. Not indexed itself: a btree entry cannot hold a large schema. */
  @Column({ type: 'text' })
  canonical!: string;

  /** sha256 of type, canonical form and references: the unique key that makes ids global. */
  @Column({ type: 'text' })
  fingerprint!: string;

  @Column({ name: 'refs', type: 'jsonb', default: () => "'[]'" })
  references!: SchemaReference[];

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;
}
