/** A Dockerfile instruction after line continuations are joined and comments dropped. */
export interface Instruction {
  keyword: string;
  args: string;
  line: number;
}

export interface Stage {
  name: string;
  /** The base image with build-time ARG defaults substituted. */
  from: string;
  instructions: Instruction[];
}

/**
 * Just enough of the Dockerfile grammar for structural checks: comments, `\` continuations, stages, and
 * ARG defaults declared before the first FROM (the only ARGs a FROM line can use).
 */
export function parseDockerfile(text: string): Stage[] {
  const instructions: Instruction[] = [];
  let buffer = '';
  let start = 0;
  text.split('\n').forEach((raw, i) => {
    const line = raw.trimEnd();
    if (buffer === '' && /^\s*(#|$)/.test(line)) return;
    if (buffer !== '' && /^\s*#/.test(line)) return; // comments inside a continued instruction are dropped
    if (buffer === '') start = i + 1;
    const continued = line.endsWith('\\');
    buffer += `${continued ? line.slice(0, -1) : line} `;
    if (continued) return;
    const m = /^\s*(\w+)\s*(.*?)\s*$/s.exec(buffer)!;
    instructions.push({ keyword: m[1]!.toUpperCase(), args: m[2]!.replace(/\s+/g, ' '), line: start });
    buffer = '';
  });
  if (buffer !== '') throw new Error('Dockerfile ends inside a continued instruction');

  const globalArgs = new Map<string, string>();
  const stages: Stage[] = [];
  for (const instruction of instructions) {
    if (instruction.keyword === 'FROM') {
      const m = /^(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?$/i.exec(instruction.args);
      if (!m) throw new Error(`line ${instruction.line}: cannot read FROM ${instruction.args}`);
      const from = m[1]!.replace(/\$\{?(\w+)\}?/g, (_, name: string) => globalArgs.get(name) ?? '');
      stages.push({ name: m[2] ?? String(stages.length), from, instructions: [] });
    } else if (stages.length === 0) {
      if (instruction.keyword !== 'ARG')
        throw new Error(`line ${instruction.line}: ${instruction.keyword} before FROM`);
      const [name, value] = instruction.args.split('=') as [string, string | undefined];
      globalArgs.set(name, value ?? '');
    } else {
      stages.at(-1)!.instructions.push(instruction);
    }
  }
  return stages;
}

/** The exec form (`["a", "b"]`) of CMD, ENTRYPOINT or HEALTHCHECK CMD as a list; undefined for shell form. */
export function execForm(args: string): string[] | undefined {
  const json = args.replace(/^(?:--\S+\s+)*(?:CMD\s+)?/, '');
  if (!json.startsWith('[')) return undefined;
  return JSON.parse(json) as string[];
}

/** Sources and destination of a COPY/ADD (flags such as --from= are returned apart). */
export function copyOperands(args: string): { flags: Record<string, string>; sources: string[]; destination: string } {
  const words = args.split(' ');
  const flags: Record<string, string> = {};
  while (words[0]?.startsWith('--')) {
    const [flag, value] = words.shift()!.slice(2).split('=') as [string, string | undefined];
    flags[flag] = value ?? 'true';
  }
  const destination = words.pop()!;
  return { flags, sources: words, destination };
}
