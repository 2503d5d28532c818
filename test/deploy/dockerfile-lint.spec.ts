// PENDING: rename to dockerfile-lint.spec.ts once the devDependency dockerfile-utils@0.16.3 is in package.json.
// Needs the devDependency dockerfile-utils (the Dockerfile linter of the Docker language server used by
// editors; it parses with dockerfile-ast and runs offline).
import { validate } from 'dockerfile-utils';
import { describe, expect, it } from 'vitest';
import { readRepoFile } from './support/repo';

const describeProblems = (text: string) =>
  validate(text).map((d) => `line ${d.range.start.line + 1}: ${d.message} (severity ${d.severity})`);

describe('Dockerfile: lint (dockerfile-utils)', () => {
  it('has no errors or warnings', () => {
    expect(describeProblems(readRepoFile('Dockerfile'))).toEqual([]);
  });

  it('reports a broken instruction, so the lint is real', () => {
    const broken = readRepoFile('Dockerfile').replace(/^USER node$/m, 'USER');
    expect(describeProblems(broken).join('\n')).toMatch(/no arguments/);
  });
});
