/**
 * Bulk-load bodies → records with the line they start on. CSV: RFC 4180 (header row names the fields,
 * quoted fields may hold commas, quotes as "" and line breaks; CRLF or LF). NDJSON: one JSON object per
 * line, blank lines skipped. A record that cannot be parsed at all is returned as an error, not thrown,
 * so the other rows still load.
 */

export interface ParsedRecord {
  /** 1-based line of the file where the record starts (a CSV's header is line 1). */
  row: number;
  value?: Record<string, unknown>;
  error?: string;
}

export type BulkFormat = 'csv' | 'ndjson';

export function formatOf(contentType: string | undefined): BulkFormat | null {
  const type = (contentType ?? '').split(';')[0].trim().toLowerCase();
  if (type === 'text/csv') return 'csv';
  if (type === 'application/x-ndjson' || type === 'application/ndjson' || type === 'application/jsonl') {
    return 'ndjson';
  }
  return null;
}

export function parseBulk(format: BulkFormat, text: string): ParsedRecord[] {
  return format === 'csv' ? parseCsv(text) : parseNdjson(text);
}

export function parseNdjson(text: string): ParsedRecord[] {
  const records: ParsedRecord[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim();
    if (line === '') continue;
    try {
      const value = JSON.parse(line) as unknown;
      if (typeof value !== 'object' || value === null || Array.isArray(value)) {
        records.push({ row: i + 1, error: 'line is not a JSON object' });
      } else {
        records.push({ row: i + 1, value: value as Record<string, unknown> });
      }
    } catch (error) {
      records.push({ row: i + 1, error: `invalid JSON: ${(error as Error).message}` });
    }
  }
  return records;
}

export function parseCsv(text: string): ParsedRecord[] {
  const rows = csvRows(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
  if (rows.length === 0) return [];
  const header = rows[0].fields.map((h) => h.trim());
  const records: ParsedRecord[] = [];
  for (const { line, fields, error } of rows.slice(1)) {
    if (fields.length === 1 && fields[0].trim() === '' && !error) continue; // blank line
    if (error) {
      records.push({ row: line, error });
    } else if (fields.length !== header.length) {
      records.push({ row: line, error: `has ${fields.length} fields, the header has ${header.length}` });
    } else {
      const value: Record<string, unknown> = {};
      header.forEach((name, i) => {
        value[name] = fields[i];
      });
      records.push({ row: line, value });
    }
  }
  return records;
}

function csvRows(text: string): { line: number; fields: string[]; error?: string }[] {
  const rows: { line: number; fields: string[]; error?: string }[] = [];
  let fields: string[] = [];
  let field = '';
  let quoted = false;
  let line = 1;
  let rowStart = 1;
  let i = 0;
  const endRow = () => {
    fields.push(field);
    rows.push({ line: rowStart, fields });
    fields = [];
    field = '';
  };
  while (i < text.length) {
    const c = text[i];
    if (quoted) {
      if (c === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i += 2;
          continue;
        }
        quoted = false;
      } else {
        if (c === '\n') line++;
        field += c;
      }
      i++;
      continue;
    }
    if (c === '"' && field === '') {
      quoted = true;
    } else if (c === ',') {
      fields.push(field);
      field = '';
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      endRow();
      line++;
      rowStart = line;
    } else {
      field += c;
    }
    i++;
  }
  if (quoted) {
    rows.push({ line: rowStart, fields: [], error: 'unterminated quoted field' });
  } else if (field !== '' || fields.length > 0) {
    endRow();
  }
  return rows;
}
