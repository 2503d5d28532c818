import { Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import { type CompatibilityLevel, DEFAULT_COMPATIBILITY } from './compatibility';
import { CompatibilityConfigEntity, GLOBAL_CONFIG_SUBJECT } from './compatibility-config.entity';

/** Global and per-subject compatibility levels. A subject without its own level follows the global one. */
@Injectable()
export class CompatibilityConfigService {
  constructor(private readonly dataSource: DataSource) {}

  async globalLevel(manager: EntityManager = this.dataSource.manager): Promise<CompatibilityLevel> {
    return (await this.find(GLOBAL_CONFIG_SUBJECT, manager)) ?? DEFAULT_COMPATIBILITY;
  }

  /** Only the subject's own level; undefined when it has none (GET /config/{subject} answers 40408 then). */
  subjectLevel(
    subject: string,
    manager: EntityManager = this.dataSource.manager,
  ): Promise<CompatibilityLevel | undefined> {
    return this.find(subject, manager);
  }

  /** The level a registration under `subject` is checked with. */
  async effectiveLevel(subject: string, manager: EntityManager = this.dataSource.manager): Promise<CompatibilityLevel> {
    return (await this.find(subject, manager)) ?? (await this.globalLevel(manager));
  }

  setGlobalLevel(level: CompatibilityLevel): Promise<void> {
    return this.upsert(GLOBAL_CONFIG_SUBJECT, level);
  }

  setSubjectLevel(subject: string, level: CompatibilityLevel): Promise<void> {
    return this.upsert(subject, level);
  }

  /** Back to the default level; returns the level that was set, if any. */
  resetGlobalLevel(): Promise<CompatibilityLevel | undefined> {
    return this.remove(GLOBAL_CONFIG_SUBJECT);
  }

  /** The subject follows the global level again; returns the level it had, if any. */
  removeSubjectLevel(
    subject: string,
    manager: EntityManager = this.dataSource.manager,
  ): Promise<CompatibilityLevel | undefined> {
    return this.remove(subject, manager);
  }

  private async find(subject: string, manager: EntityManager): Promise<CompatibilityLevel | undefined> {
    const row = await manager.findOneBy(CompatibilityConfigEntity, { subject });
    return row?.compatibility;
  }

  private async upsert(subject: string, compatibility: CompatibilityLevel): Promise<void> {
    await this.dataSource.manager.upsert(CompatibilityConfigEntity, { subject, compatibility }, ['subject']);
  }

  private async remove(
    subject: string,
    manager: EntityManager = this.dataSource.manager,
  ): Promise<CompatibilityLevel | undefined> {
    const result = await manager
      .createQueryBuilder()
      .delete()
      .from(CompatibilityConfigEntity)
      .where('subject = :subject', { subject })
      .returning(['compatibility'])
      .execute();
    const rows = result.raw as Array<{ compatibility: CompatibilityLevel }>;
    return rows[0]?.compatibility;
  }
}
