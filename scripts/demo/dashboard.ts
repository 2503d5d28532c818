import type { GeneratorStats } from '@flywheel/generator';
import type { LoopEvent } from './loop-events';
import type { MeshStatus } from './mesh-status';

/** What the screen shows besides the mesh's own status. */
export interface DashboardContext {
  name: string;
  startedAt: number;
  modelName: string;
  driftAt: string;
  generator: GeneratorStats | null;
  generatorStartedAt: number;
  /** Why the generator's sends are being retried, if they are. */
  sinkProblem?: string | null;
  events: readonly LoopEvent[];
}

const ESC = '\x1b[';
const bold = (s: string) => `${ESC}1m${s}${ESC}22m`;
const dim = (s: string) => `${ESC}2m${s}${ESC}22m`;
const red = (s: string) => `${ESC}31m${s}${ESC}39m`;
const green = (s: string) => `${ESC}32m${s}${ESC}39m`;
const yellow = (s: string) => `${ESC}33m${s}${ESC}39m`;

const int = (n: number) => Math.round(n).toLocaleString('en-US');

export function elapsed(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  const m = Math.floor(s / 60);
  return m > 0 ? `${m}m${String(s % 60).padStart(2, '0')}s` : `${s}s`;
}

function clock(at: number): string {
  return new Date(at).toTimeString().slice(0, 8);
}

function trafficLine(ctx: DashboardContext, now: number, color: boolean): string {
  const g = ctx.generator;
  if (!g) return 'traffic   not started yet';
  const rate = g.transactions / Math.max(1, (now - ctx.generatorStartedAt) / 1000);
  const fraud = g.transactions > 0 ? ((100 * g.fraud) / g.transactions).toFixed(1) : '0.0';
  const phase =
    g.driftedAt !== null
      ? (color ? yellow : (s: string) => s)(
          `DRIFTED ${elapsed(now - g.driftedAt)} ago (after ${int(g.driftedAfterTransactions ?? 0)})`,
        )
      : `before drift (switch at ${ctx.driftAt})`;
  const problems =
    (g.rejected > 0 ? ` · rejected ${int(g.rejected)}` : '') +
    (ctx.sinkProblem ? ` · ${color ? red(ctx.sinkProblem) : ctx.sinkProblem}` : '');
  return (
    `traffic   ${int(g.transactions)} tx (${int(rate)}/s) · ${int(g.labels)} labels (${int(g.pendingLabels)} pending) · ` +
    `fraud ${fraud}% · ${phase}${problems}`
  );
}

function driftLine(status: MeshStatus, color: boolean): string[] {
  const d = status.drift;
  if (!d) return ['drift     no full window yet'];
  const mark = (name: string, value: number, drifted: boolean) => {
    const text = `${name} ${value.toFixed(2)}${drifted ? '*' : ''}`;
    return color ? (drifted ? red(text) : text) : text;
  };
  const features = d.features.map((f) => mark(f.feature, f.psi, f.drifted));
  const lines = [
    `drift     PSI vs v${d.model_version} baseline, window of ${int(d.window.samples)} (* = over its calibrated threshold):`,
    `          ${features.join('  ')}  ${mark('score', d.score.psi, d.score.drifted)}`,
  ];
  const q = d.quality;
  if (q) {
    const f = (v: number | null) => (v === null ? '-' : v.toFixed(2));
    lines.push(
      `quality   live AUC ${f(q.auc)} · precision ${f(q.precision)} · recall ${f(q.recall)} · ECE ${q.ece.toFixed(3)} ` +
        `(${int(q.labelled_samples)} labelled, ${int(q.positives)} fraud)`,
    );
  }
  return lines;
}

/** The full-screen view (ANSI colours), redrawn in place every refresh. */
export function renderDashboard(status: MeshStatus | null, ctx: DashboardContext, now = Date.now()): string[] {
  const lines = [
    `${bold(`Flywheel demo "${ctx.name}"`)} — up ${elapsed(now - ctx.startedAt)} — ${dim('Ctrl-C stops everything; logs in .cache/logs/')}`,
    trafficLine(ctx, now, true),
  ];
  if (!status) return [...lines, 'waiting for the first status ...'];
  lines.push(dim('                          events/s        total        lag    up'));
  for (const s of status.stages) {
    const name = s.instances > 1 ? `${s.stage} ×${s.instances}` : s.stage;
    const up = `${s.up}/${s.instances}`;
    lines.push(
      `  ${name.padEnd(22)} ${int(s.perSecond).padStart(8)} ${int(s.total).padStart(12)} ${(s.lag === null ? '-' : int(s.lag)).padStart(10)}    ${s.up < s.instances ? red(up) : up}`,
    );
  }
  const serving = status.serving.map((s) => `${s.instance} ${s.version ? `v${s.version}` : red('none')}`).join(', ');
  const swaps = status.serving.reduce((n, s) => n + s.swaps, 0);
  lines.push(
    `model     ${ctx.modelName}: Production ${status.productionVersion ? green(`v${status.productionVersion}`) : red('none')} ` +
      `(latest v${status.latestVersion ?? '-'}) · serving ${serving} · swaps ${swaps} (first loads included)`,
  );
  lines.push(...driftLine(status, true));
  lines.push(
    `loop      retrain requests ${status.retrainRequests} · trainer: trained ${status.trainer.trained}, refused ${status.trainer.refused}` +
      `${status.trainer.failed ? `, failed ${status.trainer.failed}` : ''} · promotions ${status.promotions.promoted}` +
      ` (kept in Staging ${status.promotions.refused}) · dead letters ${int(status.deadLetters)}`,
  );
  lines.push(bold('recent'));
  // the feed reads four topics side by side: order by when each thing happened
  const recent = [...ctx.events].sort((a, b) => a.at - b.at).slice(-6);
  if (recent.length === 0) lines.push(dim('  (nothing yet)'));
  for (const e of recent) lines.push(`  ${dim(clock(e.at))} ${e.text}`);
  return lines;
}

/** One status line for logs and pipes (no colours, no cursor movement). */
export function renderStatusLine(status: MeshStatus, ctx: DashboardContext, now = Date.now()): string {
  const g = ctx.generator;
  const stage = (name: string) => status.stages.find((s) => s.stage === name);
  const part = (name: string, label: string) => {
    const s = stage(name);
    return s ? `${label} ${int(s.perSecond)}/s${s.lag === null ? '' : ` lag ${int(s.lag)}`}` : '';
  };
  const drift = status.drift;
  const top = drift ? [...drift.features].sort((a, b) => b.psi - a.psi)[0] : undefined;
  return [
    `[${elapsed(now - ctx.startedAt).padStart(6)}]`,
    g
      ? `tx ${int(g.transactions)} labels ${int(g.labels)}${g.driftedAt ? ' DRIFTED' : ''}${ctx.sinkProblem ? ` (${ctx.sinkProblem})` : ''} |`
      : 'tx - |',
    `${part('collector', 'in')} | ${part('enrichment-api', 'enrich')} | ${part('feature-materializer', 'features')} |`,
    `${part('stream-inference', 'inference')} | ${part('monitor', 'monitor')} |`,
    `prod v${status.productionVersion ?? '-'} serving ${status.serving.map((s) => s.version ?? '-').join(',')} |`,
    drift
      ? `drift(v${drift.model_version}) top ${top?.feature} ${top?.psi.toFixed(2)}${top?.drifted ? '*' : ''} auc ${drift.quality?.auc?.toFixed(2) ?? '-'} |`
      : 'drift - |',
    `retrain ${status.retrainRequests} trained ${status.trainer.trained} promoted ${status.promotions.promoted} dlq ${int(status.deadLetters)}`,
  ].join(' ');
}

/** Redraws a block of lines in place: cursor up over the previous block, rewrite, clear what is left. */
export class ScreenRegion {
  private height = 0;

  draw(lines: string[]): string {
    const up = this.height > 0 ? `${ESC}${this.height}F` : '';
    this.height = lines.length;
    return `${up}${lines.map((l) => `${l}${ESC}K`).join('\n')}\n${ESC}J`;
  }

  /** Forget the block (text printed after it stays). */
  release(): void {
    this.height = 0;
  }
}

/** Cuts a line to `columns` visible characters (escape sequences do not count), so nothing wraps. */
export function fitWidth(line: string, columns: number): string {
  let visible = 0;
  let i = 0;
  while (i < line.length) {
    if (line[i] === '\x1b') {
      const end = line.slice(i).search(/[A-Za-z]/);
      i += end < 0 ? line.length : end + 1;
      continue;
    }
    if (visible === columns - 1) return `${line.slice(0, i)}${ESC}0m`;
    visible++;
    i++;
  }
  return line;
}
