import { GRAMMAR_NUMBER_DIGITS } from '../core/contract/grammar-schema.ts';

/**
 * Tightens the GBNF node-llama-cpp 3.21 writes for a JSON schema where it allows text that parses
 * but does not validate, so that whatever a model writes, even a random-weight one, is valid:
 *
 * - numbers: its rules allow an exponent (`1e-5` for an integer, `1e999` reads as Infinity) and
 *   16 digits (integers beyond 2^53); ours write up to 15 digits before the point and after it,
 *   no exponent. Every value stays finite, and every integer a safe one.
 * - dates: its rule allows 31 days in every month; ours only the days each month has (February
 *   up to the 28th, leaving out leap-year arithmetic).
 * - strings with a minLength or maxLength: its rule counts characters of the JSON text, where a
 *   `\uD83D\uDE00` escape pair is one character in two and a raw emoji one code point but two
 *   UTF-16 units (what JavaScript validators count). Ours write characters of the Basic
 *   Multilingual Plane and simple escapes only, where every count agrees.
 *
 * Each rewrite checks that the text it replaces is there, so a node-llama-cpp that writes its rules
 * differently fails loudly (test/worker/json-grammar.test.ts) instead of losing the guarantees.
 */

const digits = `("0" | [1-9] [0-9]{0,${GRAMMAR_NUMBER_DIGITS - 1}})`;
const INTEGER = `"-"? ${digits}`;
const FRACTIONAL = `"-"? ${digits} ("." [0-9]{1,${GRAMMAR_NUMBER_DIGITS}})?`;

const LOOSE_DATE = '[0-9]{4} "-" ("0" [1-9] | "1" [012]) "-" ("0" [1-9] | [12] [0-9] | "3" [01])';
const DATE =
  '[0-9]{4} "-" (("0" [13578] | "1" [02]) "-" ("0" [1-9] | [12] [0-9] | "3" [01]) | ("0" [469] | "11") "-" ("0" [1-9] | [12] [0-9] | "30") | "02" "-" ("0" [1-9] | "1" [0-9] | "2" [0-8]))';

const COUNTED_CHAR_RULE = 'counted-string-char-rule';
/** Printable BMP characters but `"` and `\`, or a one-letter escape: one code point and one UTF-16 unit each. */
const COUNTED_CHAR = `${COUNTED_CHAR_RULE} ::= [\\x20-\\x21\\x23-\\x5B\\x5D-\\x7E\\u0080-\\uFFFF] | "\\\\" ["\\\\/bfnrt]`;
const COUNTED_STRING = '( string-char-rule ){';

export class GrammarRewriteError extends Error {}

function replaceRule(grammar: string, name: string, body: string): string {
  return grammar.replace(new RegExp(`^${name} ::= .*$`, 'm'), `${name} ::= ${body}`);
}

/** Whether a rule of the tightened grammar, by its name, still allows what the rewrites exist to exclude. */
function loose(name: string, body: string): boolean {
  if (name === 'integer-number-rule') return body !== INTEGER;
  if (name.includes('number')) return body !== FRACTIONAL;
  if (name.startsWith('string-format-date')) return !body.includes(DATE);
  if (/^string-\d+(-\d+)?-rule$/.test(name)) return !body.includes(COUNTED_CHAR_RULE);
  return false;
}

export function tightenJsonSchemaGrammar(grammar: string): string {
  let tightened = replaceRule(grammar, 'integer-number-rule', INTEGER);
  tightened = replaceRule(tightened, 'fractional-number-rule', FRACTIONAL);
  tightened = tightened.replaceAll(LOOSE_DATE, DATE);
  if (tightened.includes(COUNTED_STRING)) {
    tightened = `${tightened.replaceAll(COUNTED_STRING, `( ${COUNTED_CHAR_RULE} ){`)}\n${COUNTED_CHAR}`;
  }
  for (const line of tightened.split('\n')) {
    const [name = '', body = ''] = line.split(' ::= ', 2);
    if (loose(name, body)) throw new GrammarRewriteError(`the JSON-schema grammar has a rule this version cannot tighten: ${line.slice(0, 200)}`);
  }
  return tightened;
}
