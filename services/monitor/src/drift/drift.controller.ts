import type { DriftReport } from '@flywheel/contracts';
import { Controller, Get, NotFoundException } from '@nestjs/common';
import { MonitorService } from './monitor.service';

@Controller('v1/drift')
export class DriftController {
  constructor(private readonly monitor: MonitorService) {}

  /** The newest drift report of the watched Production version; 404 before the first full window. */
  @Get()
  current(): DriftReport {
    const report = this.monitor.report;
    if (!report) throw new NotFoundException('no drift report yet (no Production version or no full window)');
    return report;
  }
}
