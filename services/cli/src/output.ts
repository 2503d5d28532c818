/** Where a command writes: results on stdout, progress and errors on stderr (so stdout pipes cleanly). */
export interface CliIO {
  out(text: string): void;
  err(text: string): void;
}

export const processIO: CliIO = {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
};

/** JSON with Buffers as base64 strings (Avro `bytes` fields, dead-letter payloads) instead of byte arrays. */
export function toJson(value: unknown, indent?: number): string {
  return JSON.stringify(
    value,
    function (this: Record<string, unknown>, key: string, v: unknown) {
      const raw = this[key];
      if (Buffer.isBuffer(raw)) return raw.toString('base64');
      if (typeof v === 'bigint') return v.toString();
      return v;
    },
    indent,
  );
}

export function printJson(io: CliIO, value: unknown): void {
  io.out(`${toJson(value, 2)}\n`);
}

/** Left-aligned columns, two spaces apart; the first row is the header. */
export function table(rows: ReadonlyArray<ReadonlyArray<string | number | null | undefined>>): string {
  const cells = rows.map((row) => row.map((cell) => (cell === null || cell === undefined ? '-' : String(cell))));
  const widths: number[] = [];
  for (const row of cells) {
    for (const [i, cell] of row.entries()) widths[i] = Math.max(widths[i] ?? 0, cell.length);
  }
  return `${cells.map((row) => row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]))).join('  ')).join('\n')}\n`;
}

export function isoTime(epochMillis: number | null | undefined): string | null {
  return typeof epochMillis === 'number' && Number.isFinite(epochMillis) ? new Date(epochMillis).toISOString() : null;
}
