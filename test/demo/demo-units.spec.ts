import { describe, expect, it } from 'vitest';
import { fitWidth, ScreenRegion } from '../../scripts/demo/dashboard';
import { defaultTrainWindowMs, parseDemoArgs } from '../../scripts/demo/demo-options';
import { find, parsePrometheusText, sum } from '../../scripts/demo/prometheus-text';

describe('parsePrometheusText', () => {
  it('reads samples with labels (escaped quotes included) and skips comments', () => {
    const samples = parsePrometheusText(
      [
        '# HELP flywheel_x_total things',
        '# TYPE flywheel_x_total counter',
        'flywheel_x_total{type="transaction",outcome="accepted"} 12',
        'flywheel_x_total{type="label",outcome="accepted"} 5',
        'flywheel_info{version="2",role="serving",note="a \\"quoted\\" word"} 1',
        'process_cpu_seconds_total 3.5',
        'garbage line',
      ].join('\n'),
    );
    expect(sum(samples, 'flywheel_x_total')).toBe(17);
    expect(sum(samples, 'flywheel_x_total', { type: 'label' })).toBe(5);
    expect(find(samples, 'flywheel_info')[0].labels).toEqual({
      version: '2',
      role: 'serving',
      note: 'a "quoted" word',
    });
    expect(sum(samples, 'process_cpu_seconds_total')).toBe(3.5);
    expect(samples).toHaveLength(4);
  });
});

describe('parseDemoArgs', () => {
  it('defaults to a resumable demo on fixed ports, plain output when not a terminal', () => {
    const options = parseDemoArgs([], false);
    expect(options).toMatchObject({ ports: 'fixed', name: 'demo', fresh: false, plain: true, rate: 200, window: 1000 });
    expect(options.drift).toEqual({ transactions: 20_000 });
    expect(parseDemoArgs([], true).plain).toBe(false);
  });

  it('sizes the trainer window from the monitor window, the rate and the label delay', () => {
    // (2 + 1) windows of 500 at 250/s = 6 s, plus 1.5 × 2 s of label delay
    expect(defaultTrainWindowMs(250, 500, 2, 2_000)).toBe(9_000);
    const options = parseDemoArgs(
      ['--rate', '250', '--window', '500', '--label-delay', '2s', '--drift-at', 'never'],
      true,
    );
    expect(options.trainWindowMs).toBe(9_000);
    expect(options.drift).toBeNull();
    expect(parseDemoArgs(['--train-window', '30s'], true).trainWindowMs).toBe(30_000);
  });

  it('names a wrong option', () => {
    expect(() => parseDemoArgs(['--ports', 'any'], true)).toThrow(/--ports must be fixed or free/);
    expect(() => parseDemoArgs(['--window', '10'], true)).toThrow(/--window must be a whole number in 50/);
    expect(() => parseDemoArgs(['--name', 'a b'], true)).toThrow(/--name/);
    expect(() => parseDemoArgs(['--colour'], true)).toThrow(/colour/);
  });
});

const ESC = '\x1b[';

describe('screen', () => {
  it('cuts lines to the terminal width without counting escape sequences', () => {
    const red = '\x1b[31mabcdef\x1b[39m';
    expect(fitWidth(red, 80)).toBe(red);
    const cut = fitWidth(`xx${red}`, 5);
    expect(cut.replaceAll(`${ESC}31m`, '').replaceAll(`${ESC}0m`, '')).toBe('xxab');
  });

  it('redraws a block in place: up over the previous block, clear to the end of the screen', () => {
    const screen = new ScreenRegion();
    expect(screen.draw(['a', 'b'])).toBe('a\x1b[K\nb\x1b[K\n\x1b[J');
    expect(screen.draw(['c'])).toBe('\x1b[2Fc\x1b[K\n\x1b[J');
  });
});
