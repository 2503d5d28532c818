import { readFile } from 'node:fs/promises';
import { CliError, UsageError } from '../cli-errors';

/** A parsed input record and where it came from, for error messages ("line 7"). */
export interface InputRecord {
  /** 1-based line of NDJSON, or 1-based position in a JSON array. */
  position: number;
  value: Record<string, unknown>;
}

/** The records of a file, or of stdin when no file is given (`-` also means stdin). */
export async function readInput(
  file: string | undefined,
  what: string,
): Promise<{ records: InputRecord[]; source: string }> {
  if (file === undefined || file === '-') {
    if (process.stdin.isTTY) {
      throw new UsageError(`give the ${what} with --file <path>, or pipe them on stdin (JSON array or NDJSON)`);
    }
    return { records: parseRecords(await readStdin(), 'stdin'), source: 'stdin' };
  }
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new CliError(`cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  return { records: parseRecords(text, file), source: file };
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * A JSON array of objects, one JSON object, or NDJSON (one object per line; blank lines skipped). Every line is
 * checked before anything is returned, and every bad one is named: nothing is sent from a half-good file.
 */
export function parseRecords(text: string, source: string): InputRecord[] {
  const trimmed = text.trim();
  if (trimmed === '') throw new CliError(`${source} is empty: expected a JSON array or NDJSON records`);
  if (trimmed.startsWith('[')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(trimmed);
    } catch (error) {
      throw new CliError(`${source} starts with '[' but is not a valid JSON array: ${(error as Error).message}`);
    }
    const items = parsed as unknown[];
    const bad = items.map((item, i) => (isObject(item) ? -1 : i + 1)).filter((i) => i > 0);
    if (bad.length) throw new CliError(`${source}: item(s) ${list(bad)} of the array are not JSON objects`);
    return items.map((value, i) => ({ position: i + 1, value: value as Record<string, unknown> }));
  }
  const records: InputRecord[] = [];
  const problems: string[] = [];
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim();
    if (line === '') continue;
    try {
      const value: unknown = JSON.parse(line);
      if (isObject(value)) records.push({ position: i + 1, value });
      else
        problems.push(`line ${i + 1}: expected a JSON object, got ${Array.isArray(value) ? 'an array' : typeof value}`);
    } catch (error) {
      problems.push(`line ${i + 1}: not JSON (${(error as Error).message})`);
    }
  }
  if (problems.length === 0) return records;
  // One pretty-printed object spread over several lines is fine too.
  try {
    const whole: unknown = JSON.parse(trimmed);
    if (isObject(whole)) return [{ position: 1, value: whole }];
  } catch {
    // not one object either: report the lines
  }
  throw new CliError(`${source} is not NDJSON / a JSON array; nothing was sent:\n  ${shown(problems).join('\n  ')}`);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function list(positions: number[]): string {
  return positions.length > 10 ? `${positions.slice(0, 10).join(', ')}, … (${positions.length})` : positions.join(', ');
}

/** At most 20 problems, then how many more. */
export function shown(problems: string[]): string[] {
  return problems.length > 20 ? [...problems.slice(0, 20), `… and ${problems.length - 20} more`] : problems;
}
