/**
 * Compose's variable interpolation (https://docs.docker.com/reference/compose-file/interpolation/) for the
 * forms docker-compose.yml uses: `${VAR}`, `${VAR:-default}`, `${VAR-default}`, `${VAR:?error}`,
 * `${VAR?error}`, `$VAR` and `$$` (a literal `$`). Anything else is an error rather than a guess.
 */
export function interpolate(text: string, env: Record<string, string | undefined>): string {
  return text.replace(
    /\$(\$|\{([^}]*)\}|([A-Za-z_][A-Za-z0-9_]*))/g,
    (whole, rest: string, braced?: string, bare?: string) => {
      if (rest === '$') return '$';
      if (bare) return env[bare] ?? '';
      const m = /^([A-Za-z_][A-Za-z0-9_]*)(?:(:?)([-?])(.*))?$/s.exec(braced ?? '');
      if (!m) throw new Error(`unsupported interpolation ${whole}`);
      const [, name, colon, op, arg] = m as unknown as [string, string, string, string | undefined, string];
      const value = env[name];
      const missing = value === undefined || (colon === ':' && value === '');
      if (!op) return value ?? '';
      if (op === '-') return missing ? arg : value!;
      if (missing) throw new Error(`required variable ${name} is not set: ${arg}`);
      return value!;
    },
  );
}

/** Interpolates every string in a parsed YAML value (keys stay as written, as in Compose). */
export function interpolateDeep<T>(value: T, env: Record<string, string | undefined>): T {
  if (typeof value === 'string') return interpolate(value, env) as T;
  if (Array.isArray(value)) return value.map((v) => interpolateDeep(v, env)) as T;
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, interpolateDeep(v, env)])) as T;
  }
  return value;
}
