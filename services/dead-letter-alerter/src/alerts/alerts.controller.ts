import { Controller, Get } from '@nestjs/common';
import { AlertingService } from './alerting.service';

/** `GET /v1/alerts`: the alerts firing now. */
@Controller('v1/alerts')
export class AlertsController {
  constructor(private readonly alerting: AlertingService) {}

  @Get()
  firing() {
    return { firing: this.alerting.evaluator.firing() };
  }
}
