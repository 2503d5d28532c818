const NEEDS_ESCAPE = /["\\]/;

/**
 * A Postgres array literal of text, built in one pass: node-postgres would run two regex replaces per
 * element, which showed up per row at a million rows. Every element is quoted (so "NULL", commas, braces
 * and spaces stay text); only a quote or backslash needs escaping, and is.
 */
export function textArrayLiteral(values: readonly string[]): string {
  let out = '{';
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (i > 0) out += ',';
    out += NEEDS_ESCAPE.test(v) ? `"${v.replace(/[\\"]/g, '\\$&')}"` : `"${v}"`;
  }
  return `${out}}`;
}

/** A Postgres array literal of finite numbers (JS's shortest round-trip decimal: float8 reads it back exactly). */
export function numberArrayLiteral(values: readonly number[]): string {
  for (const v of values) if (!Number.isFinite(v)) throw new Error(`not a finite number: ${v}`);
  return `{${values.join(',')}}`;
}
