import { describe, expect, it } from 'vitest';
import { replaceMarkedBlock } from './markdown.ts';

const DOC = [
  '# Benchmarks',
  '',
  '## A (bench/a.ts)',
  '',
  'Prose about A.',
  '',
  '## B (bench/b.ts)',
  '',
  'Prose B.',
  '',
].join('\n');

describe('replaceMarkedBlock', () => {
  it('inserts at the end of the section whose heading names the script, keeping the prose', () => {
    const out = replaceMarkedBlock(DOC, '(bench/a.ts)', 'run:a', 'figures 1');
    expect(out).toBe(
      [
        '# Benchmarks',
        '',
        '## A (bench/a.ts)',
        '',
        'Prose about A.',
        '',
        '<!-- run:a -->',
        '',
        'figures 1',
        '',
        '<!-- /run:a -->',
        '',
        '## B (bench/b.ts)',
        '',
        'Prose B.',
        '',
      ].join('\n'),
    );
  });

  it('replaces only what is between existing markers', () => {
    const once = replaceMarkedBlock(DOC, '(bench/b.ts)', 'run:b', 'old');
    const twice = replaceMarkedBlock(once, '(bench/b.ts)', 'run:b', 'new');
    expect(twice).toContain('Prose B.\n\n<!-- run:b -->\n\nnew\n\n<!-- /run:b -->\n');
    expect(twice).not.toContain('old');
    expect(twice.match(/run:b -->/g)).toHaveLength(2);
  });

  it('puts a title block right under the title', () => {
    const out = replaceMarkedBlock(DOC, '# Benchmarks', 'suite', 'machine');
    expect(out.startsWith('# Benchmarks\n\n<!-- suite -->\n\nmachine\n\n<!-- /suite -->\n\n## A')).toBe(true);
  });

  it('adds a section when no heading matches', () => {
    const out = replaceMarkedBlock(DOC, 'C (bench/c.ts)', 'run:c', 'x');
    expect(out.endsWith('Prose B.\n\n## C (bench/c.ts)\n\n<!-- run:c -->\n\nx\n\n<!-- /run:c -->\n')).toBe(
      true,
    );
  });

  it('does not take a `# line` inside a code block for a heading', () => {
    const doc = [
      '## A (bench/a.ts)',
      '',
      '```',
      '# a comment in output',
      'figures',
      '```',
      '',
      '## B',
      '',
    ].join('\n');
    const out = replaceMarkedBlock(doc, '(bench/a.ts)', 'run:a', 'new');
    expect(out).toBe(
      [
        '## A (bench/a.ts)',
        '',
        '```',
        '# a comment in output',
        'figures',
        '```',
        '',
        '<!-- run:a -->',
        '',
        'new',
        '',
        '<!-- /run:a -->',
        '',
        '## B',
        '',
      ].join('\n'),
    );
  });
});
