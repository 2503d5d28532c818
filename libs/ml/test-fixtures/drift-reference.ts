/**
 * Reference values for libs/ml/src/drift, each with where it comes from. scipy is not available here, so
 * every value is either derived by hand (the arithmetic is written next to it; the decimal expansions were
 * evaluated with Python's `math` module as a calculator: log, exp, sqrt, erfc) or a published table value.
 * The specs also check against independent brute-force implementations written in the spec itself.
 */

/** PSI = Σ (a_i - e_i)·ln(a_i / e_i) on proportions. */
export const psiCases = [
  {
    source: 'hand: e = [.25,.25,.25,.25], a = [.1,.2,.3,.4]; -.15·ln(.4) - .05·ln(.8) + .05·ln(1.2) + .15·ln(1.6)',
    expected: [25, 25, 25, 25],
    actual: [10, 20, 30, 40],
    psi: 0.22821740957339182,
  },
  {
    source: 'hand, empty bin → ε = 1e-4: 2·(-.1)·ln(.8) + (.2 - 1e-4)·ln(.2 / 1e-4)',
    expected: [50, 50, 0],
    actual: [40, 40, 20],
    psi: 1.5640491119253044,
  },
  { source: 'identical distributions', expected: [3, 5, 2], actual: [30, 50, 20], psi: 0 },
];

/**
 * Quantiles of the Kolmogorov distribution (asymptotic KS, two-sided): the classic table of critical values
 * of sqrt(n)·D (Smirnov 1948; e.g. Massey 1951, Table 1, "over 35" row: 1.22, 1.36, 1.63 at α = .10, .05,
 * .01, given to 4 decimals as 1.2238, 1.3581, 1.6276, 1.9495 for .10, .05, .01, .001), and the CDF value
 * K(1) = 0.7300003 (Marsaglia, Tsang & Wang 2003, J. Stat. Softw. 8(18)).
 */
export const kolmogorovTable = [
  { x: 1.2238, survival: 0.1 },
  { x: 1.3581, survival: 0.05 },
  { x: 1.6276, survival: 0.01 },
  { x: 1.9495, survival: 0.001 },
  { x: 1.0, survival: 1 - 0.7300003 },
];

/** Upper critical values of χ² (any statistics table, e.g. NIST/SEMATECH e-Handbook §1.3.6.7.4). */
export const chiSquaredTable = [
  { df: 1, x: 3.841, survival: 0.05 },
  { df: 1, x: 6.635, survival: 0.01 },
  { df: 2, x: 5.991, survival: 0.05 },
  { df: 5, x: 11.07, survival: 0.05 },
  { df: 10, x: 18.307, survival: 0.05 },
  { df: 10, x: 23.209, survival: 0.01 },
  { df: 30, x: 43.773, survival: 0.05 },
];

export const chiSquaredCases = {
  independence: {
    source:
      'hand: [[10,20],[30,40]], row totals 30/70, column totals 40/60, expected [[12,18],[28,42]]; ' +
      'χ² = 4/12 + 4/18 + 4/28 + 4/42; df = 1; p = erfc(sqrt(χ²/2))',
    table: [
      [10, 20],
      [30, 40],
    ],
    statistic: 0.7936507936507936,
    df: 1,
    pValue: 0.37299848361348714,
  },
  goodnessOfFit: {
    source: 'hand: observed [10,20,30] vs uniform (20 each): (100 + 0 + 100)/20 = 10, df = 2, p = e^(-10/2)',
    observed: [10, 20, 30],
    expected: [1, 1, 1],
    statistic: 10,
    df: 2,
    pValue: 0.006737946999085467,
  },
};

/** Jensen–Shannon distance, natural log unless base given. */
export const jsCases = [
  { source: 'disjoint supports: JSD = ln 2', p: [1, 0], q: [0, 1], base: Math.E, distance: 0.8325546111576977 },
  { source: 'disjoint supports, base 2: 1', p: [1, 0], q: [0, 1], base: 2, distance: 1 },
  {
    source: 'hand: m = [.75,.25]; ½(.5 ln(.5/.75) + .5 ln(.5/.25)) + ½ ln(1/.75), then sqrt',
    p: [0.5, 0.5],
    q: [1, 0],
    base: Math.E,
    distance: 0.46450140402245893,
  },
];

export const aucCases = [
  {
    source:
      'hand: pairs (pos, neg) = (.35,.1) ✓ (.35,.4) ✗ (.8,.1) ✓ (.8,.4) ✓ → 3/4 (also sklearn roc_auc_score doc example)',
    scores: [0.1, 0.4, 0.35, 0.8],
    labels: [0, 0, 1, 1],
    auc: 0.75,
  },
  { source: 'hand: all tied → every pair ½', scores: [0.5, 0.5, 0.5, 0.5], labels: [0, 1, 0, 1], auc: 0.5 },
  {
    source: 'hand: pairs (.5,.5) ½, (.5,.2) 1, (.9,.5) 1, (.9,.2) 1 → 3.5/4',
    scores: [0.5, 0.9, 0.5, 0.2],
    labels: [1, 1, 0, 0],
    auc: 0.875,
  },
];

export const eceCase = {
  source:
    'hand, 10 bins: bin0 {.05|0} → .05, bin1 {.15|0} → .15, bin9 {.95|1, .95|0} → |.5 - .95| = .45; (.05 + .15 + 2·.45)/4',
  scores: [0.05, 0.15, 0.95, 0.95],
  labels: [0, 0, 1, 0],
  ece: 0.275,
};

export const ks2Case = {
  source: 'hand: a = [1,2,3], b = [2,3,4,5]; |Fa - Fb| at 1,2,3,4,5 = 1/3, 5/12, 1/2, 1/4, 0 → D = 1/2',
  a: [1, 2, 3],
  b: [2, 3, 4, 5],
  statistic: 0.5,
};
