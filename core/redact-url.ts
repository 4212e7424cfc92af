/**
 * URLs as they may appear in logs and error messages. Model URLs and REDIS_URL carry secrets in
 * two places: credentials (`https://user:token@host/…`, `redis://:password@host`) and the query
 * (presigned S3 URLs sign with `?X-Amz-Signature=…`; other stores put tokens there too). Both are
 * replaced by a marker, and the fragment with them, since nothing says what a fragment holds.
 * Scheme, host, port and path stay: they are what an operator needs to tell which file failed.
 */

/** What stands where a secret was. */
export const REDACTED = '***';

const SCHEME = /^[a-z][a-z0-9+.-]*:\/\//i;
/** A URL inside free text: a scheme with `//`, up to whitespace or a quote. */
const URL_IN_TEXT = /\b[a-z][a-z0-9+.-]*:\/\/[^\s"'<>`]+/gi;

/**
 * `url` without credentials, query or fragment. Text that is not a `scheme://` URL is returned as it
 * is: `hf:` URIs (which carry no secret), file paths, `builtin:tiny`. A `scheme://` string that
 * does not parse keeps only its scheme, since which part of it is a secret cannot be told. Never throws.
 */
export function redactUrl(url: string): string {
  const scheme = SCHEME.exec(url);
  if (!scheme) return url;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return `${scheme[0]}${REDACTED}`;
  }
  const hasCredentials = parsed.username !== '' || parsed.password !== '';
  // Nothing to hide: the text as given, not the parser's normalized form.
  if (!hasCredentials && !parsed.search && !parsed.hash) return url;
  const credentials = hasCredentials ? `${REDACTED}@` : '';
  const query = parsed.search ? `?${REDACTED}` : '';
  const fragment = parsed.hash ? `#${REDACTED}` : '';
  return `${parsed.protocol}//${credentials}${parsed.host}${parsed.pathname}${query}${fragment}`;
}

/** Every `scheme://` URL in a message redacted: for error texts of libraries that quote the URL they were given. */
export function redactUrlsIn(text: string): string {
  return text.replace(URL_IN_TEXT, (url) => redactUrl(url));
}
