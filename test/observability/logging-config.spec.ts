import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import { Writable } from 'node:stream';
import { promisify } from 'node:util';
import { createLogger } from '@flywheel/observability';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(__dirname, '../..');
const run = promisify(execFile);

/** Sections of a Fluent Bit classic-mode file: `[NAME]` then `Key Value` lines; comments and blanks ignored. */
function fluentSections(text: string): Array<{ section: string; keys: Map<string, string[]> }> {
  const sections: Array<{ section: string; keys: Map<string, string[]> }> = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#') || line.startsWith('@')) continue;
    const header = /^\[([A-Z_]+)\]$/.exec(line);
    if (header) {
      sections.push({ section: header[1], keys: new Map() });
      continue;
    }
    const current = sections.at(-1);
    if (!current) throw new Error(`key outside any section: ${line}`);
    const [key, ...value] = line.split(/\s+/);
    const name = key.toLowerCase();
    current.keys.set(name, [...(current.keys.get(name) ?? []), value.join(' ')]);
  }
  return sections;
}

const get = (s: { keys: Map<string, string[]> }, key: string) => s.keys.get(key.toLowerCase())?.[0];

/** Names services log under: every runService name, and the loggers of CLIs that write ECS. */
function serviceNames(): string[] {
  const names = new Set<string>();
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = resolve(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.spec.ts')) {
        const text = readFileSync(path, 'utf8');
        for (const m of text.matchAll(/runService\(\{\s*name: '([^']+)'/g)) names.add(m[1]);
        for (const m of text.matchAll(/createLogger\(\{ service: '([^']+)'/g)) names.add(m[1]);
      }
    }
  };
  walk(resolve(ROOT, 'services'));
  return [...names].sort();
}

/** strptime → RegExp for the directives Fluent Bit time formats use here. */
function timeFormatRegex(format: string): RegExp {
  const directives: Record<string, string> = {
    '%Y': '\\d{4}',
    '%m': '\\d{2}',
    '%d': '\\d{2}',
    '%H': '\\d{2}',
    '%M': '\\d{2}',
    '%S': '\\d{2}',
    '%L': '\\d+',
    '%z': '(?:Z|[+-]\\d{4})',
  };
  const escaped = format.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`^${escaped.replace(/%[A-Za-z]/g, (d) => directives[d] ?? d)}$`);
}

/** One real ECS line, as a service writes it. */
function ecsLine(service: string): Record<string, any> {
  let text = '';
  const destination = new Writable({
    write(chunk, _enc, done) {
      text += String(chunk);
      done();
    },
  });
  createLogger({ service, destination }).error({ error: new Error('boom'), event_id: 'e-1' }, 'failed');
  return JSON.parse(text.trim());
}

describe('infra/fluent-bit ships every service to its own data stream', () => {
  const config = fluentSections(readFileSync(resolve(ROOT, 'infra/fluent-bit/fluent-bit.conf'), 'utf8'));
  const parsers = fluentSections(readFileSync(resolve(ROOT, 'infra/fluent-bit/parsers.conf'), 'utf8'));
  const names = serviceNames();

  it('finds the services to check', () => {
    expect(names).toEqual(expect.arrayContaining(['collector', 'stream-inference', 'trainer-cli']));
  });

  it('tails Docker json-file logs, joining lines Docker split', () => {
    const inputs = config.filter((s) => s.section === 'INPUT');
    expect(inputs).toHaveLength(1);
    expect(get(inputs[0], 'Name')).toBe('tail');
    expect(get(inputs[0], 'Path')).toBe('/var/lib/docker/containers/*/*-json.log');
    expect(get(inputs[0], 'multiline.parser')).toContain('docker');
    expect(get(inputs[0], 'DB')).toBeTruthy();
    expect(get(config.find((s) => s.section === 'SERVICE')!, 'Parsers_File')).toMatch(/parsers\.conf$/);
  });

  it('parses the ECS JSON a service writes, taking its @timestamp as the record time', () => {
    const filter = config.find((s) => s.section === 'FILTER' && get(s, 'Name') === 'parser')!;
    expect(get(filter, 'Key_Name')).toBe('log');
    expect(get(filter, 'Reserve_Data')).toBe('On');
    const parser = parsers.find((s) => get(s, 'Name') === get(filter, 'Parser'))!;
    expect(get(parser, 'Format')).toBe('json');
    expect(get(parser, 'Time_Key')).toBe('@timestamp');
    // The es output writes @timestamp itself; keeping ours would make a duplicate field.
    expect(get(parser, 'Time_Keep')).toBe('Off');
    expect(ecsLine('collector')['@timestamp']).toMatch(timeFormatRegex(get(parser, 'Time_Format')!));
  });

  it('routes every service (and its CLIs) to logs-flywheel.<service>-default, everything else to a fallback', () => {
    const rewrite = config.find((s) => s.section === 'FILTER' && get(s, 'Name') === 'rewrite_tag')!;
    const [accessor, regex, tag, keep] = get(rewrite, 'Rule')!.split(' ');
    expect(accessor).toBe("$service['name']");
    expect(keep).toBe('false');
    const outputs = config.filter((s) => s.section === 'OUTPUT');
    for (const output of outputs) {
      expect(get(output, 'Name')).toBe('es');
      // Data streams accept `create` only.
      expect(get(output, 'Write_Operation')).toBe('create');
      expect(get(output, 'Suppress_Type_Name')).toBe('On');
    }
    for (const name of names) {
      // What the filter does with the service.name of a real log line.
      const line = ecsLine(name);
      const match = new RegExp(regex).exec(line.service.name);
      expect(match, `${name} is routed`).not.toBeNull();
      const routed = tag.replace(/\$(\d)/g, (_, i) => match![Number(i)]);
      const output = outputs.find((o) => get(o, 'Match') === routed);
      const service = match![1];
      expect(output, `an output for ${routed}`).toBeDefined();
      expect(get(output!, 'Index')).toBe(`logs-flywheel.${service}-default`);
      expect(name.startsWith(service)).toBe(true);
    }
    const fallback = outputs.find((o) => get(o, 'Match') === get(config.find((s) => s.section === 'INPUT')!, 'Tag'));
    expect(get(fallback!, 'Index')).toMatch(/^logs-flywheel\.[a-z]+-default$/);
  });
});

describe('infra/kibana saved objects', () => {
  const text = readFileSync(resolve(ROOT, 'infra/kibana/saved-objects.ndjson'), 'utf8');
  const objects = text
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as Record<string, any>);

  it('is NDJSON of saved objects with type, id and attributes', () => {
    expect(text.endsWith('\n')).toBe(true);
    expect(objects.length).toBeGreaterThanOrEqual(4);
    for (const object of objects) {
      expect(typeof object.type).toBe('string');
      expect(typeof object.id).toBe('string');
      expect(typeof object.attributes).toBe('object');
    }
    expect(new Set(objects.map((o) => o.id)).size).toBe(objects.length);
  });

  it('has a data view over every Flywheel data stream, and searches that use it', () => {
    const view = objects.find((o) => o.type === 'index-pattern')!;
    expect(view.attributes.title).toBe('logs-flywheel*');
    expect(view.attributes.timeFieldName).toBe('@timestamp');
    const searches = objects.filter((o) => o.type === 'search');
    expect(searches.map((s) => s.id).sort()).toEqual(
      ['flywheel-dlq-events', 'flywheel-errors-by-service', 'flywheel-model-swaps'].sort(),
    );
    for (const search of searches) {
      const source = JSON.parse(search.attributes.kibanaSavedObjectMeta.searchSourceJSON);
      expect(source.query.language).toBe('kuery');
      const ref = search.references.find((r: { name: string }) => r.name === source.indexRefName);
      expect(ref).toEqual({ type: 'index-pattern', id: view.id, name: source.indexRefName });
      expect(search.attributes.columns.length).toBeGreaterThan(0);
    }
  });

  it('searches for log messages the services actually write', () => {
    const code = (path: string) => readFileSync(resolve(ROOT, path), 'utf8');
    const query = (id: string) =>
      JSON.parse(objects.find((o) => o.id === id)!.attributes.kibanaSavedObjectMeta.searchSourceJSON).query.query;
    // Every quoted phrase of a `message : "..."` clause appears in the code that logs it.
    const sources: Record<string, string[]> = {
      'flywheel-dlq-events': [
        'libs/kafka/src/consumer/batch-consumer.ts',
        'services/feature-materializer/src/stream/materializer.ts',
        'services/collector/src/ingest/ingest.service.ts',
      ],
      'flywheel-model-swaps': ['services/stream-inference/src/models/model-store.ts'],
    };
    for (const [id, files] of Object.entries(sources)) {
      const phrases = [...query(id).matchAll(/message : "([^"]+)"/g)].map((m) => m[1]);
      expect(phrases.length).toBeGreaterThan(0);
      const all = files.map(code).join('\n');
      for (const phrase of phrases) {
        // A message built from a template (`now ${role === 'serving' ? 'serving' : 'shadow scoring'}`) counts
        // when its fixed part and the chosen literal are both in the code.
        const [head, ...rest] = phrase.split(' ');
        const templated = all.includes(`${head} \${`) && all.includes(`'${rest.join(' ')}'`);
        expect(all.includes(phrase) || templated, `"${phrase}" is logged somewhere`).toBe(true);
      }
    }
    expect(query('flywheel-errors-by-service')).toContain('log.level');
    // The level names are pino's, as the ECS formatter writes them.
    expect(ecsLine('x').log.level).toBe('error');
  });

  it('imports them with import-saved-objects.sh once Kibana is available', async () => {
    const received: Array<{ xsrf: string | undefined; body: string }> = [];
    let statusCalls = 0;
    const kibana = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        if (req.url === '/api/status') {
          // Not available on the first call: the script must wait.
          const level = ++statusCalls > 1 ? 'available' : 'unavailable';
          res.writeHead(200, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ status: { overall: { level, summary: level } } }));
        } else if (req.method === 'POST' && req.url === '/api/saved_objects/_import?overwrite=true') {
          const body = Buffer.concat(chunks).toString('utf8');
          received.push({ xsrf: req.headers['kbn-xsrf'] as string | undefined, body });
          const count = body.split('\n').filter((l) => l.startsWith('{"type"')).length;
          res.writeHead(200, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ success: count === objects.length, successCount: count }));
        } else {
          res.writeHead(404).end();
        }
      });
    });
    await new Promise<void>((r) => kibana.listen(0, '127.0.0.1', r));
    try {
      const url = `http://127.0.0.1:${(kibana.address() as AddressInfo).port}`;
      const script = resolve(ROOT, 'infra/kibana/import-saved-objects.sh');
      const { stdout } = await run('sh', [script], {
        env: { ...process.env, KIBANA_URL: url, KIBANA_WAIT_SECONDS: '30' },
      });
      expect(stdout).toContain('done');
      expect(statusCalls).toBeGreaterThan(1);
      expect(received).toHaveLength(1);
      expect(received[0].xsrf).toBe('true');
      expect(received[0].body).toContain('filename="saved-objects.ndjson"');
      for (const object of objects) expect(received[0].body).toContain(`"id":"${object.id}"`);
      // A Kibana that refuses the import fails the script.
      const failing = run('sh', [script], {
        env: { ...process.env, KIBANA_URL: url, SAVED_OBJECTS_FILE: resolve(ROOT, 'infra/fluent-bit/parsers.conf') },
      });
      await expect(failing).rejects.toMatchObject({ code: 1 });
    } finally {
      kibana.closeAllConnections();
      await new Promise((r) => kibana.close(r));
    }
  }, 60_000);
});
