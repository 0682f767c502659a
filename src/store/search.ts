/**
 * Text search over subjects and number/notation ("số/ký hiệu"): both the stored text and the query are folded
 * to lower case without Vietnamese diacritics (đ → d), so "bao cao" finds "Báo cáo" and "45/bc" finds "45/BC-UBND".
 */

export function fold(s: string): string {
  return s
    .normalize('NFD')
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/[đĐ]/g, 'd')
    .toLowerCase()
}

/** The folded search text stored with a package. */
export function searchText(p: { subject?: string | undefined; codeNumber?: string | undefined; codeNotation?: string | undefined }): string {
  const code = [p.codeNumber, p.codeNotation].filter((x) => x).join('/')
  return fold([p.subject ?? '', code].join('\n'))
}

/** A LIKE pattern (ESCAPE '\') matching the folded query anywhere; % and _ in the query are literal. */
export function likePattern(query: string): string {
  return `%${fold(query).replace(/[\\%_]/g, (c) => '\\' + c)}%`
}

/** A GLOB pattern matching the folded query anywhere (SQLite FTS5 trigram uses it); * ? [ in the query are literal. */
export function globPattern(query: string): string {
  return `*${fold(query).replace(/[*?[]/g, (c) => `[${c}]`)}*`
}

/** PostgreSQL: how many of the newest events a text search checks one by one before scanning all packages. */
export const TEXT_SCAN_WINDOW = 5_000

/** SQLite: from how many matching packages a text search reads events one by one instead of via the index. */
export const TEXT_DENSE_MATCHES = 2_000
