// CI's breaking-change check (.ci/run → scripts/proto-breaking-previous.sh)
// in throwaway repositories: skipped with a reason when there is no previous
// commit, failing on a breaking change when there is one.
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'proto-breaking-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const GIT_ENV = { GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@t', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@t', GIT_CEILING_DIRECTORIES: work };

function run(cwd: string, command: string, args: string[]) {
  const result = spawnSync(command, args, { cwd, encoding: 'utf8', env: { ...process.env, ...GIT_ENV } });
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

function git(cwd: string, ...args: string[]): void {
  const result = run(cwd, 'git', args);
  if (result.status !== 0) throw new Error(`git ${args.join(' ')}: ${result.output}`);
}

/** A repository holding this checkout's proto/, buf config and scripts in one commit, with its node_modules linked. */
function repoWithOneCommit(name: string): string {
  const dir = join(work, name);
  for (const path of ['proto', 'scripts/proto-breaking.sh', 'scripts/proto-breaking-previous.sh', 'buf.yaml']) {
    cpSync(join(root, path), join(dir, path), { recursive: true });
  }
  writeFileSync(join(dir, '.gitignore'), 'node_modules\n');
  symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'));
  git(dir, 'init', '-q', '-b', 'main');
  git(dir, 'add', '.');
  git(dir, 'commit', '-qm', 'first');
  return dir;
}

const check = (dir: string) => run(dir, 'bash', ['scripts/proto-breaking-previous.sh']);

describe('buf breaking against the previous commit', () => {
  it('is skipped with the reason when HEAD is the first commit', () => {
    const result = check(repoWithOneCommit('first'));
    expect(result).toMatchObject({ status: 0 });
    expect(result.output).toMatch(/buf breaking skipped: HEAD is the first commit/);
  });

  it('is skipped with the reason in a shallow clone that lacks the previous commit', () => {
    const origin = repoWithOneCommit('origin');
    git(origin, 'commit', '-q', '--allow-empty', '-m', 'second');
    git(work, 'clone', '-q', '--depth', '1', `file://${origin}`, 'shallow');
    const result = check(join(work, 'shallow'));
    expect(result).toMatchObject({ status: 0 });
    expect(result.output).toMatch(/buf breaking skipped: shallow clone/);
  });

  it('passes an additive change and fails a breaking one', () => {
    const dir = repoWithOneCommit('changes');
    const proto = join(dir, 'proto/carebook/catalog/v1/catalog.proto');
    const original = readFileSync(proto, 'utf8');
    writeFileSync(proto, `${original}\nmessage ProtoBreakingProbe {\n  string added = 1;\n}\n`);
    git(dir, 'commit', '-qam', 'additive');
    const additive = check(dir);
    expect(additive.output).toMatch(/no breaking changes/);
    expect(additive.status).toBe(0);

    writeFileSync(proto, original.replace('string display_name = 2;', 'int64 display_name = 2;'));
    git(dir, 'commit', '-qam', 'breaking');
    const breaking = check(dir);
    expect(breaking.output).toMatch(/changed type/);
    expect(breaking.status).not.toBe(0);
  });

  it('still fails a breaking change once another commit lands on top of it, against v1 as first published', () => {
    const dir = repoWithOneCommit('buried');
    const proto = join(dir, 'proto/carebook/catalog/v1/catalog.proto');
    writeFileSync(proto, readFileSync(proto, 'utf8').replace('string display_name = 2;', 'int64 display_name = 2;'));
    git(dir, 'commit', '-qam', 'breaking');
    git(dir, 'commit', '-q', '--allow-empty', '-m', 'on top');
    const result = check(dir);
    expect(result.output).toMatch(/no breaking changes against/);
    expect(result.output).toMatch(/buf breaking against v1 as first published/);
    expect(result.output).toMatch(/changed type/);
    expect(result.status).not.toBe(0);
  });
});
