// @vitest-environment happy-dom
// Every Mermaid block of the documentation parses with Mermaid's own parser,
// the one GitHub's renderer uses. mermaid.parse() runs without a browser for
// some diagram types, but flowcharts and state diagrams sanitise their labels
// with DOMPurify, which needs a window: happy-dom provides one.

import { describe, expect, it } from 'vitest';
import { documentationFiles, fencedBlocks } from './docs/markdown';

const blocks = documentationFiles().flatMap((file) =>
  fencedBlocks(file.text)
    .filter((b) => b.language === 'mermaid')
    .map((b) => ({ where: `${file.path}:${b.line}`, body: b.body })),
);

async function mermaid() {
  const { default: m } = await import('mermaid');
  m.initialize({ startOnLoad: false });
  return m;
}

describe('Mermaid blocks in the documentation', () => {
  it('exist', () => {
    expect(blocks.length).toBeGreaterThan(10);
  });

  it.each(blocks.map((b) => [b.where, b.body]))('%s parses', async (_where, body) => {
    await expect((await mermaid()).parse(body)).resolves.toBeTruthy();
  });

  it('the parser refuses a broken diagram of each type used', async () => {
    const m = await mermaid();
    for (const broken of ['erDiagram\n    a ||--o{ b', 'sequenceDiagram\n    A->>B hello', 'flowchart TD\n    a -->', 'stateDiagram-v2\n    [*] --> --> A']) {
      await expect(m.parse(broken), broken).rejects.toThrow();
    }
  });
});
