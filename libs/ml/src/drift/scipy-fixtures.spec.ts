import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Histogram } from '@flywheel/contracts';
import { describe, expect, it } from 'vitest';
import { chiSquaredSurvival, kolmogorovSurvival, normalQuantile } from './distributions';
import {
  auc,
  binCounts,
  chiSquaredGoodnessOfFit,
  chiSquaredIndependence,
  jensenShannonDistance,
  ks2Sample,
  ksAgainstHistogram,
  psi,
  quantileEdges,
  quantileHistogram,
} from './stats';

/**
 * libs/ml's drift statistics against reference values computed independently with numpy and scipy by
 * test/fixtures/drift/make_fixtures.py (its output is committed; Python is not needed to run this test).
 */
interface Fixtures {
  scipy: string;
  psi: {
    name: string;
    baseline: number[];
    live: number[];
    bins: number;
    bin_edges: number[];
    baseline_counts: number[];
    live_counts: number[];
    psi: number;
  }[];
  ks_2samp: { name: string; statistic: number; pvalue_kstwobign: number; pvalue_scipy_asymp: number }[];
  ks_against_histogram: { name: string; statistic: number; pvalue: number }[];
  chi2_contingency: { table: number[][]; statistic: number; pvalue: number; df: number }[];
  chisquare: { observed: number[]; expected: number[]; statistic: number; pvalue: number }[];
  jensenshannon: { p: number[]; q: number[]; distance: number; distance_base2: number }[];
  auc: { scores: number[]; labels: number[]; auc: number }[];
  survival: { kstwobign_sf: number[][]; chi2_sf: number[][]; norm_ppf: number[][] };
}

const fixtures = JSON.parse(
  readFileSync(resolve(__dirname, '../../../../test/fixtures/drift/scipy-drift.json'), 'utf8'),
) as Fixtures;
const samples = new Map(fixtures.psi.map((c) => [c.name, c]));
const relative = (actual: number, expected: number, tolerance: number) =>
  expect(Math.abs(actual - expected)).toBeLessThanOrEqual(tolerance * Math.max(Math.abs(expected), 1e-300));

describe(`drift statistics equal numpy/scipy ${fixtures.scipy} reference values`, () => {
  it.each(fixtures.psi)('PSI on the baseline quantile bins: $name', (c) => {
    // numpy interpolates the quantiles with another (equivalent) formula: equal to the last bit or two
    const edges = quantileEdges(c.baseline, c.bins);
    expect(edges).toHaveLength(c.bin_edges.length);
    for (const [i, edge] of edges.entries()) relative(edge, c.bin_edges[i], 1e-14);
    const histogram: Histogram = quantileHistogram(c.name, c.baseline, c.bins);
    expect(histogram.counts).toEqual(c.baseline_counts);
    expect(binCounts(histogram.bin_edges, c.live)).toEqual(c.live_counts);
    relative(psi(histogram, c.live), c.psi, 1e-12);
  });

  it.each(fixtures.ks_2samp)('two-sample KS: $name', (c) => {
    const { baseline, live } = samples.get(c.name) as Fixtures['psi'][number];
    const result = ks2Sample(baseline, live);
    expect(result.statistic).toBeCloseTo(c.statistic, 14);
    // p-value: the limiting Kolmogorov distribution (scipy kstwobign) at sqrt(mn/(m+n))·D …
    relative(result.pValue, c.pvalue_kstwobign, 1e-9);
    // … which scipy's ks_2samp(method='asymp') replaces by the finite-n kstwo at round(mn/(m+n)): close, not equal
    expect(Math.abs(result.pValue - c.pvalue_scipy_asymp)).toBeLessThan(0.02);
  });

  it.each(fixtures.ks_against_histogram)('KS against the baseline histogram (scipy kstest, asymp): $name', (c) => {
    const { baseline, live } = samples.get(c.name) as Fixtures['psi'][number];
    const result = ksAgainstHistogram(quantileHistogram(c.name, baseline, 10), live);
    expect(result.statistic).toBeCloseTo(c.statistic, 12);
    relative(result.pValue, c.pvalue, 1e-9);
  });

  it.each(fixtures.chi2_contingency)('chi-squared independence (chi2_contingency, no correction) #%#', (c) => {
    const result = chiSquaredIndependence(c.table);
    relative(result.statistic, c.statistic, 1e-12);
    expect(result.df).toBe(c.df);
    relative(result.pValue, c.pvalue, 1e-9);
  });

  it.each(fixtures.chisquare)('chi-squared goodness of fit (chisquare) #%#', (c) => {
    const result = chiSquaredGoodnessOfFit(c.observed, c.expected);
    relative(result.statistic, c.statistic, 1e-12);
    relative(result.pValue, c.pvalue, 1e-9);
  });

  it.each(fixtures.jensenshannon)('Jensen–Shannon distance (scipy.spatial.distance.jensenshannon) #%#', (c) => {
    relative(jensenShannonDistance(c.p, c.q), c.distance, 1e-12);
    relative(jensenShannonDistance(c.p, c.q, 2), c.distance_base2, 1e-12);
  });

  it.each(fixtures.auc)('AUC with ties = Mann–Whitney U / (n₊·n₋) (scipy mannwhitneyu) #%#', (c) => {
    relative(auc(c.scores, c.labels) as number, c.auc, 1e-12);
  });

  it('tail functions: kstwobign.sf, chi2.sf, norm.ppf', () => {
    for (const [x, sf] of fixtures.survival.kstwobign_sf) relative(kolmogorovSurvival(x), sf, 1e-10);
    for (const [x, df, sf] of fixtures.survival.chi2_sf) relative(chiSquaredSurvival(x, df), sf, 1e-9);
    for (const [p, q] of fixtures.survival.norm_ppf) relative(normalQuantile(p), q, 1e-10);
  });
});
