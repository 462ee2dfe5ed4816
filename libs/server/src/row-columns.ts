// Raw SQL that yields a Prisma model's rows names each column under the
// model's field name. A ColumnsOf<Row> map is the one source of such a list:
// the compiler requires a column for every field of Row, and each app's
// row-columns test checks the columns against schema.prisma.

/** Each field of `Row` with the column it is read from; every field is required. */
export type ColumnsOf<Row> = { readonly [Field in keyof Row]-?: string };

/** The SELECT or RETURNING list `alias.column AS "field", …` of `columns`, the alias optional. */
export function selectList<Row>(columns: ColumnsOf<Row>, alias?: string): string {
  const prefix = alias ? `${alias}.` : '';
  return Object.entries<string>(columns)
    .map(([field, column]) => (field === column ? `${prefix}${column}` : `${prefix}${column} AS "${field}"`))
    .join(', ');
}
