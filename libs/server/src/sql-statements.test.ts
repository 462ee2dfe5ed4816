import { describe, expect, it } from 'vitest';
import { splitSqlStatements } from './sql-statements';

describe('splitSqlStatements', () => {
  it('splits at semicolons, trims, and drops empty and comment-only pieces', () => {
    expect(splitSqlStatements('-- header\nCREATE TABLE a (id int);\n\n  SELECT 1 ;;\n-- trailing comment\n')).toEqual([
      '-- header\nCREATE TABLE a (id int)',
      'SELECT 1',
    ]);
  });

  it('keeps a last statement without a semicolon', () => {
    expect(splitSqlStatements('SELECT 1; SELECT 2')).toEqual(['SELECT 1', 'SELECT 2']);
  });

  it('ignores semicolons in strings, quoted identifiers and comments', () => {
    const sql = [
      "INSERT INTO t VALUES ('a;b', 'it''s; fine')",
      'CREATE TABLE "odd;name" (id int)',
      "SELECT E'back\\\\slash\\'; quote'",
      'SELECT 1 /* a; /* nested; */ still; */ + 1',
      'SELECT 2 -- a; comment\n + 2',
    ];
    expect(splitSqlStatements(sql.join(';\n') + ';')).toEqual(sql);
  });

  it('ignores semicolons in dollar-quoted bodies, tagged or not, but not in $1 parameters', () => {
    const fn = 'CREATE FUNCTION f() RETURNS int LANGUAGE plpgsql AS $body$ BEGIN RETURN 1; END; $body$';
    const anonymous = 'DO $$ BEGIN PERFORM 1; END $$';
    const prepared = 'PREPARE p(int) AS SELECT $1';
    expect(splitSqlStatements(`${fn};\n${anonymous};\n${prepared};`)).toEqual([fn, anonymous, prepared]);
  });
});
