import { readdirSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

// Small readers of the repository's Markdown, shared by the tests that keep
// the design documents true to the code.

/** The repository root, with a trailing slash. */
// From the module's path as a string: under happy-dom, the global URL is not Node's.
export const repoRoot = `${resolve(dirname(fileURLToPath(import.meta.url)), '../..')}/`;

/** A Markdown file of the repository, by its path from the root. */
export interface MarkdownFile {
  path: string;
  text: string;
}

/** docs/*.md, and the README. */
export function documentationFiles(): MarkdownFile[] {
  const docs = readdirSync(`${repoRoot}docs`)
    .filter((name) => name.endsWith('.md'))
    .map((name) => `docs/${name}`);
  return ['README.md', ...docs].map((path) => ({ path, text: readFileSync(`${repoRoot}${path}`, 'utf8') }));
}

/** A fenced code block: its language and its body. */
export interface FencedBlock {
  language: string;
  body: string;
  /** 1-based line of the opening fence. */
  line: number;
}

/** Every fenced code block of a Markdown text. */
export function fencedBlocks(text: string): FencedBlock[] {
  const blocks: FencedBlock[] = [];
  let open: { language: string; line: number; lines: string[] } | undefined;
  text.split('\n').forEach((line, i) => {
    const fence = /^\s*```(.*)$/.exec(line);
    if (fence && !open) open = { language: fence[1].trim(), line: i + 1, lines: [] };
    else if (fence && open) {
      blocks.push({ language: open.language, body: open.lines.join('\n'), line: open.line });
      open = undefined;
    } else open?.lines.push(line);
  });
  return blocks;
}

/** The text outside fenced blocks, tables and HTML comments: what a reader reads as prose. */
export function prose(text: string): string {
  let inFence = false;
  return text
    .split('\n')
    .filter((line) => {
      if (/^\s*```/.test(line)) {
        inFence = !inFence;
        return false;
      }
      return !inFence && !line.trimStart().startsWith('|') && !line.trimStart().startsWith('<!--');
    })
    .join('\n');
}

/** Words of prose, counted as whitespace-separated tokens. */
export function proseWords(text: string): number {
  return prose(text).split(/\s+/).filter(Boolean).length;
}

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens. */
export function headingAnchor(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');
}

/** The anchors of every heading of a Markdown text (outside fenced blocks). */
export function headingAnchors(text: string): Set<string> {
  const anchors = new Set<string>();
  let inFence = false;
  for (const line of text.split('\n')) {
    if (/^\s*```/.test(line)) inFence = !inFence;
    const heading = !inFence && /^#{1,6}\s+(.*)$/.exec(line);
    if (heading) anchors.add(headingAnchor(heading[1]));
  }
  return anchors;
}

/** The section of a Markdown text under the heading that starts with `title`, up to the next heading of the same level or higher. */
export function section(text: string, title: string): string {
  const lines = text.split('\n');
  const start = lines.findIndex((l) => /^#{1,6}\s/.test(l) && l.replace(/^#+\s+/, '').startsWith(title));
  if (start < 0) return '';
  const level = /^#+/.exec(lines[start])![0].length;
  const end = lines.findIndex((l, i) => i > start && /^#+\s/.test(l) && /^#+/.exec(l)![0].length <= level);
  return lines.slice(start, end < 0 ? undefined : end).join('\n');
}
