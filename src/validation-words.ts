/**
 * What a value must look like, in words, for the patterns and formats of the JSON Schemas (schemas/): validation
 * errors say "must be a date as yyyy/MM/dd", never the raw regular expression. Used by the API's error edge and
 * the config loader; test/unit/validation-words.test.ts checks that every pattern of schemas/ has its words here.
 */

export const PATTERN_WORDS: Readonly<Record<string, string>> = {
  '^(?:[0-9]{4}/[0-9]{2}/[0-9]{2})?$': 'a date as yyyy/MM/dd (or empty)',
  '^(?:[^@\\s]+@[^@\\s]+\\.[^@\\s]+)?$': 'an e-mail address such as van.thu@example.gov.vn (or empty)',
  '^(?=.{1,35}$)[0-9A-Z]+(?:\\.[0-9A-Z]+)*$': 'an OrganId code such as 000.00.00.G22 (A-Z and 0-9 in dot-separated groups, at most 35 characters)',
  '^([01][0-9]|2[0-3]):[0-5][0-9]$': 'a time of day as HH:mm (00:00 to 23:59)',
  '^GW_ERR_[A-Z0-9_]+$': 'an error code such as GW_ERR_API_VALIDATION',
  '^[0-9]*$': 'digits only (or empty)',
  '^[0-9]+$': 'one or more digits',
  '^[0-9]{4}-[0-9]{2}-[0-9]{2}$': 'a date as yyyy-MM-dd',
  '^[0-9]{4}/[0-9]{2}/[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}$': 'a date and time as yyyy/MM/dd HH:mm:ss',
  '^[0-9a-f]{64}$': 'a SHA-256 as 64 lowercase hexadecimal digits',
  '^[A-Za-z0-9._-]{1,64}$': '1 to 64 letters, digits, dots, underscores or hyphens',
  '^[A-Za-z0-9][A-Za-z0-9.\\-]*$': 'letters, digits, dots and hyphens, starting with a letter or digit',
  '^[A-Za-z0-9][A-Za-z0-9.\\-]{0,34}$': 'an OrganId: 1 to 35 letters, digits, dots and hyphens, starting with a letter or digit',
  '^[A-Za-z_][A-Za-z0-9_]*$': 'a name of letters, digits and underscores, not starting with a digit',
  '^[\\w.+-]+/[\\w.+-]+': 'a media type such as application/pdf',
  '^[a-z0-9.+-]+/[a-z0-9.+-]+$': 'a lowercase media type such as application/pdf',
  '^\\d{4}[/-]\\d{2}[/-]\\d{2}$': 'a date as yyyy/MM/dd (yyyy-MM-dd is also accepted)',
  '^amqps?://': 'an AMQP URL such as amqp://user:password@host:5672',
  '^cid:[^\\s<>&]+$': 'a content id such as cid:3f2c… (no spaces, <, > or &)',
  '^https?://': 'an http:// or https:// URL',
  '^[0-2](\\.(0|[1-9][0-9]*))+$': 'a dotted object identifier such as 1.2.3.4.1',
  '^postgres(ql)?://': 'a PostgreSQL URL such as postgres://user@host:5432/database',
  '^([0-9A-Fa-f]{2}:?){31}[0-9A-Fa-f]{2}$': 'a SHA-256 fingerprint: 64 hexadecimal digits, with or without colons between the pairs',
  '^[0-9A-Fa-f:]+$': 'a serial number in hexadecimal (colons allowed)',
  '^([0-9A-Fa-f]{2})+$': 'hexadecimal bytes (an even number of hex digits)',
  '^[A-Za-z0-9_.*\\-]{1,35}$': 'an OrganId or a pattern such as 000.00.*.H29 (letters, digits, dots, *, at most 35 characters)',
  '^/[A-Za-z0-9/_-]*[A-Za-z0-9_-]$': 'a URL path such as /vxp (starting with /, not ending with /)',
  '^https?://[^\\s]+[^/\\s]$': 'an http:// or https:// URL without a trailing slash',
  '^[\\x21-\\x7e]{1,100}$': '1 to 100 printable ASCII characters without spaces',
  '^scrypt\\$ln=\\d{1,2},r=\\d{1,2},p=\\d{1,2}\\$[A-Za-z0-9_-]{16,}\\$[A-Za-z0-9_-]{32,}$': 'a password hash as `lienthong operator add` writes it (scrypt$ln=…,r=…,p=…$salt$hash)',
}

export const FORMAT_WORDS: Readonly<Record<string, string>> = {
  'date-time': 'a date and time in ISO 8601 with a zone, such as 2026-12-01T08:30:00+07:00',
  date: 'a date as yyyy-MM-dd',
  email: 'an e-mail address',
  uri: 'an absolute URL',
  uuid: 'a UUID such as 3f2c1e9a-…',
}

interface Issue {
  keyword?: string
  message?: string
  params?: Record<string, unknown>
}

/** The problem in words: "must be a date as yyyy/MM/dd"; ajv's own message for keywords that are already words. */
export function problemInWords(e: Issue): string {
  if (e.keyword === 'pattern') {
    const words = PATTERN_WORDS[String(e.params?.pattern)]
    return `must be ${words ?? 'in the documented form (see the OpenAPI document at /docs)'}`
  }
  if (e.keyword === 'format') {
    const words = FORMAT_WORDS[String(e.params?.format)]
    return `must be ${words ?? `a valid ${String(e.params?.format)}`}`
  }
  return e.message ?? 'is invalid'
}
