/**
 * Milliseconds to wait as a `Retry-After` header says: delta-seconds ("5") or an HTTP date. Undefined when the
 * header is absent or unreadable, so the caller falls back to its own backoff.
 */
export function retryAfterMs(header: string | null | undefined, now = Date.now()): number | undefined {
  if (!header) return undefined;
  const text = header.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const at = Date.parse(text);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}
