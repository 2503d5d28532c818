import type { DriftReport } from '@flywheel/contracts';
import { UsageError } from '../cli-errors';
import { callService } from '../http/service-http';
import { isoTime, printJson, table } from '../output';
import { type Command, parseCommand } from './command';

const HELP = `
flywheel drift

The monitor's newest drift report (GET /v1/drift on MONITOR_URL / --monitor): the watched Production version,
its window, PSI and KS per feature against the version's training baseline, the score's drift and the live
quality from labels (AUC, precision, recall, ECE). A retrain is requested only when drift is sustained
(see services/monitor/README.md). Prints "no drift report yet" before the first full window.
`;

const fixed = (value: number | null | undefined, digits = 3) =>
  typeof value === 'number' && Number.isFinite(value) ? value.toFixed(digits) : null;

export const driftCommand: Command = {
  name: 'drift',
  help: HELP,
  async run(argv, io) {
    const parsed = parseCommand(this, argv, io, {});
    if (!parsed) return 0;
    const { positionals, config } = parsed;
    if (positionals.length) throw new UsageError(`drift takes no arguments, got ${positionals.join(' ')}`);
    const monitor = { name: 'monitor', url: config.monitorUrl, flag: '--monitor', env: 'MONITOR_URL' };
    const { status, body: report } = await callService<DriftReport>(monitor, 'GET', '/v1/drift', { accept: [404] });
    if (status === 404) {
      if (config.json) printJson(io, null);
      io.err('no drift report yet: the monitor has no Production version to watch or no full window of data\n');
      return 0;
    }
    if (config.json) {
      printJson(io, report);
      return 0;
    }
    const drifted = report.features.filter((f) => f.drifted).map((f) => f.feature);
    io.out(
      `${report.model_name} v${report.model_version}: window ${isoTime(report.window.start)} .. ${isoTime(report.window.end)}, ` +
        `${report.window.samples} samples; ${drifted.length ? `DRIFTED: ${drifted.join(', ')}` : 'no feature drifted'}\n`,
    );
    const rows: Array<Array<string | null>> = [['FEATURE', 'PSI', 'KS', 'KS P', 'JS', 'DRIFTED']];
    for (const f of report.features) {
      rows.push([
        f.feature,
        fixed(f.psi),
        fixed(f.ks_statistic),
        fixed(f.ks_p_value, 4),
        fixed(f.js),
        f.drifted ? 'yes' : 'no',
      ]);
    }
    const s = report.score;
    rows.push(['(score)', fixed(s.psi), fixed(s.ks_statistic), fixed(s.ks_p_value, 4), null, s.drifted ? 'yes' : 'no']);
    io.out(table(rows));
    const q = report.quality;
    io.out(
      q
        ? `live quality over ${q.labelled_samples} labelled (${q.positives} fraud): AUC ${fixed(q.auc)}, precision ${fixed(q.precision)}, recall ${fixed(q.recall)}, ECE ${fixed(q.ece)}\n`
        : 'live quality: no labelled predictions yet\n',
    );
    return 0;
  },
};
