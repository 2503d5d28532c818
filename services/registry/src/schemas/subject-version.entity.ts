import { Column, CreateDateColumn, Entity, JoinColumn, ManyToOne, PrimaryColumn } from 'typeorm';
import { SchemaEntity } from './schema.entity';

/** Version `version` of `subject` is schema `schemaId`. Soft-deleted versions keep their number forever. */
@Entity({ name: 'subject_versions' })
export class SubjectVersionEntity {
  @PrimaryColumn({ type: 'text' })
  subject!: string;

  @PrimaryColumn({ type: 'integer' })
  version!: number;

  @Column({ name: 'schema_id', type: 'integer' })
  schemaId!: number;

  @ManyToOne(() => SchemaEntity, { nullable: false })
  @JoinColumn({ name: 'schema_id' })
  schema!: SchemaEntity;

  @Column({ type: 'boolean', default: false })
  deleted!: boolean;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;
}
