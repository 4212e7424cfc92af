/**
 * A corpus of malformed and hostile HTTP requests, each of which a correct API must refuse with a
 * 4xx: broken JSON, wrong types, huge numbers, prototype keys, oversized bodies, bad Unicode,
 * odd encodings and content types, hostile paths and missing or wrong keys. Deterministic (seeded)
 * so a failure can be replayed.
 */

import { seededRandom as random } from '../../support/seeded-random.ts';
export interface HostileRequest {
  kind: string;
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: Buffer;
}

const VALID_BODY = { prompt: 'Once upon a time', max_tokens: 8, temperature: 0.5, top_p: 0.9, top_k: 40, seed: 1, stop: ['.'], priority: 5, cache: false };

/** Values that are wrong for each field of a generation request. */
const WRONG_VALUES: Record<string, unknown[]> = {
  prompt: [null, 42, true, [], ['a'], {}, { text: 'a' }, '', 1e308],
  max_tokens: ['8', 8.5, -1, 0, 1e20, 2 ** 53, -(2 ** 53), null, [], {}, true, 1e-300],
  temperature: ['hot', -0.1, 2.01, null, [], 1e308, -1e308],
  top_p: [0, -1, 1.5, 'x', null],
  top_k: [-1, 1.5, 1001, '40', null],
  seed: [-1, 2 ** 32, 1.5, '1', null],
  stop: ['.', [1], [''], Array.from({ length: 9 }, () => 'x'), ['x'.repeat(201)], [null], {}],
  priority: [0, 11, 1.5, 'high', null],
  cache: ['yes', 1, null],
  timeout_ms: [-1, 1e12, 'soon', 1.5],
};

/** Raw bodies whose numbers JSON itself cannot carry in range (parsed to Infinity or huge). */
const RAW_NUMBER_BODIES = [
  '{"prompt":"a","max_tokens":1e400}',
  '{"prompt":"a","max_tokens":-1e400}',
  '{"prompt":"a","temperature":1e400}',
  '{"prompt":"a","seed":123456789012345678901234567890}',
  '{"prompt":"a","max_tokens":0.0000000000000000000001}',
  '{"prompt":"a","top_k":1e3000}',
];

const BROKEN_JSON = [
  '',
  '{',
  '}',
  '{"prompt": "a",}',
  "{'prompt': 'a'}",
  '{"prompt": "a" "max_tokens": 3}',
  '{"prompt": NaN}',
  '{"prompt": Infinity}',
  '{"prompt": undefined}',
  '{"prompt": "a"} trailing',
  '{"prompt": "a"}{"prompt": "b"}',
  '/* comment */ {"prompt": "a"}',
  '{"prompt": "unterminated}',
  '{"prompt": "bad \\x escape"}',
  '{"prompt": "tab\tin string"}',
  '"just a string"',
  '42',
  'null',
  'true',
  '[]',
  '[{"prompt": "a"}]',
  '{"prompt": "a", "max_tokens": 08}',
  '{"prompt": "a", "max_tokens": +8}',
  '{"prompt": "a", "max_tokens": .5}',
  '{"prompt": "a", "max_tokens": 0x10}',
  '\u0000{"prompt": "a"}',
];

const PROTO_BODIES = [
  '{"prompt": "a", "__proto__": {"max_tokens": 999999}}',
  '{"__proto__": {"admin": true}, "prompt": "a"}',
  '{"prompt": "a", "constructor": {"prototype": {"polluted": true}}}',
  '{"prompt": "a", "prototype": {}}',
  '{"prompt": "a", "stop": ["x"], "__proto__": null}',
  '{"prompt": {"__proto__": {"toString": "boom"}}}',
  '{"prompt": "a", "sampling": {"max_tokens": 99999}}',
  '{"prompt": "a", "cacheKey": "0000"}',
  '{"prompt": "a", "acceptedAt": 0}',
];

const KEY_HEADERS = (validKey: string): Array<Record<string, string>> => [
  {},
  { authorization: 'Bearer wrong-key-0123456789abcdef' },
  { authorization: 'Bearer ' },
  { authorization: `Basic ${Buffer.from(`user:${validKey}`).toString('base64')}` },
  { authorization: `Token ${validKey}` },
  { authorization: `Bearer ${validKey}x` },
  { authorization: `Bearer ${validKey.slice(0, -1)}` },
  { 'x-api-key': `${validKey} extra` },
  { 'x-api-key': validKey.toUpperCase() },
  { authorization: `Bearer ${validKey}\u00ff` },
];

const HOSTILE_IDS = [
  '..%2F..%2Fetc%2Fpasswd',
  '%00',
  'x'.repeat(5000),
  "1' OR '1'='1",
  '%E2%80%AE',
  '*',
  'c-',
  'c-' + 'g'.repeat(64),
  '00000000-0000-4000-8000-00000000000',
  '__proto__',
  'constructor',
];

function deepArray(depth: number): string {
  return `${'['.repeat(depth)}${']'.repeat(depth)}`;
}
function deepObject(depth: number): string {
  return `{"prompt":${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}}`;
}

/**
 * At least `count` hostile requests against the native API. `validKey` is what authorised
 * requests carry: those are refused for their content, not for their key.
 */
export function hostileRequests(validKey: string, count: number, seed = 7): HostileRequest[] {
  const rand = random(seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(rand() * items.length)]!;
  const auth = { authorization: `Bearer ${validKey}` };
  const json = { ...auth, 'content-type': 'application/json' };
  const post = (kind: string, body: string | Buffer, headers: Record<string, string> = json, path = pick(['/api/v1/jobs', '/api/v1/generate'])): HostileRequest => ({
    kind,
    method: 'POST',
    path,
    headers,
    body: typeof body === 'string' ? Buffer.from(body) : body,
  });

  const fixed: HostileRequest[] = [];
  for (const text of BROKEN_JSON) fixed.push(post('broken-json', text));
  for (const text of RAW_NUMBER_BODIES) fixed.push(post('huge-number', text));
  for (const text of PROTO_BODIES) fixed.push(post('prototype-key', text));
  for (const [field, values] of Object.entries(WRONG_VALUES)) {
    for (const value of values) {
      const path = field === 'timeout_ms' ? '/api/v1/generate' : pick(['/api/v1/jobs', '/api/v1/generate']);
      fixed.push(post(`wrong-type:${field}`, JSON.stringify({ ...VALID_BODY, [field]: value }), json, path));
    }
  }
  fixed.push(post('deep-array', deepArray(100_000)));
  fixed.push(post('deep-object', deepObject(20_000)));
  fixed.push(post('oversized', JSON.stringify({ prompt: 'x'.repeat(300 * 1024) })));
  fixed.push(post('oversized', Buffer.alloc(2 * 1024 * 1024, 0x20)));
  fixed.push(post('over-char-limit', JSON.stringify({ prompt: 'word '.repeat(7000) })));
  for (const headers of KEY_HEADERS(validKey)) {
    fixed.push({ kind: 'bad-key', method: 'POST', path: '/api/v1/jobs', headers: { ...headers, 'content-type': 'application/json' }, body: Buffer.from(JSON.stringify(VALID_BODY)) });
    fixed.push({ kind: 'bad-key', method: 'GET', path: '/api/v1/jobs/00000000-0000-4000-8000-000000000000', headers });
  }
  for (const id of HOSTILE_IDS) {
    fixed.push({ kind: 'hostile-id', method: 'GET', path: `/api/v1/jobs/${id}`, headers: auth });
    fixed.push({ kind: 'hostile-id', method: 'DELETE', path: `/api/v1/jobs/${id}`, headers: auth });
  }
  fixed.push({ kind: 'bad-path', method: 'GET', path: '/api/v1/jobs/%E0%A4%A', headers: auth });
  fixed.push({ kind: 'bad-path', method: 'GET', path: '/api/v1/%', headers: auth });
  for (const path of ['/', '/api', '/api/v1', '/api/v2/jobs', '/.env', '/admin', '/api/v1/jobs/x/y/z']) {
    fixed.push({ kind: 'unknown-route', method: 'GET', path, headers: auth });
  }
  for (const method of ['PUT', 'PATCH']) fixed.push({ kind: 'wrong-method', method, path: '/api/v1/jobs', headers: json, body: Buffer.from(JSON.stringify(VALID_BODY)) });
  fixed.push({ kind: 'wrong-method', method: 'DELETE', path: '/api/v1/jobs', headers: auth });
  fixed.push({ kind: 'wrong-method', method: 'GET', path: '/api/v1/generate', headers: auth });
  fixed.push({ kind: 'huge-header', method: 'GET', path: '/api/v1/jobs/x', headers: { ...auth, 'x-filler': 'x'.repeat(64 * 1024) } });
  const validJson = Buffer.from(JSON.stringify(VALID_BODY));
  const contentTypes = ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/xml', ''];
  for (const type of contentTypes) fixed.push(post('content-type', validJson, { ...auth, ...(type ? { 'content-type': type } : {}) }));
  for (const charset of ['utf-16', 'latin1', 'klingon']) fixed.push(post('charset', validJson, { ...json, 'content-type': `application/json; charset=${charset}` }));
  for (const encoding of ['gzip', 'deflate', 'br', 'x-unknown']) fixed.push(post('content-encoding', validJson, { ...json, 'content-encoding': encoding }));

  const out = [...fixed];
  // Random variations until the corpus is large enough.
  const generators: Array<() => HostileRequest> = [
    () => {
      // A valid body cut short anywhere: never valid JSON (an object ends with its brace).
      const text = JSON.stringify({ ...VALID_BODY, prompt: `story ${Math.floor(rand() * 1e6)}` });
      return post('truncated-json', text.slice(0, Math.floor(rand() * (text.length - 1))));
    },
    () => {
      const field = pick(Object.keys(WRONG_VALUES));
      const path = field === 'timeout_ms' ? '/api/v1/generate' : '/api/v1/jobs';
      return post(`wrong-type:${field}`, JSON.stringify({ ...VALID_BODY, [field]: pick(WRONG_VALUES[field]!) }), json, path);
    },
    () => {
      // Invalid UTF-8 inside an otherwise valid request.
      const bad = pick([[0xff], [0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xf5, 0x80, 0x80, 0x80], [0xe2, 0x82], [0x80]]);
      return post('bad-utf8', Buffer.concat([Buffer.from('{"prompt":"Once '), Buffer.from(bad), Buffer.from('","max_tokens":4}')]));
    },
    () => post('lone-surrogate', `{"prompt":"Once \\u${pick(['d800', 'dbff', 'dc00', 'dfff'])} upon","max_tokens":4}`),
    () => post('unknown-field', JSON.stringify({ ...VALID_BODY, [`field_${Math.floor(rand() * 1e6)}`]: rand() })),
    () => {
      const bytes = Buffer.alloc(1 + Math.floor(rand() * 512));
      for (let i = 0; i < bytes.length; i += 1) bytes[i] = Math.floor(rand() * 256);
      bytes[0] = 0x7b; // '{': looks like JSON, is not
      bytes[bytes.length - 1] = 0x7b;
      return post('random-bytes', bytes);
    },
    () => {
      const headers = pick(KEY_HEADERS(validKey));
      return { kind: 'bad-key', method: pick(['GET', 'DELETE']), path: `/api/v1/jobs/${crypto.randomUUID()}`, headers };
    },
    () => ({ kind: 'hostile-id', method: pick(['GET', 'DELETE']), path: `/api/v1/jobs/${encodeURIComponent(pick(HOSTILE_IDS))}${Math.floor(rand() * 1000)}`, headers: auth }),
    () => post('non-object', pick(['[1,2,3]', '"prompt"', '123', 'false', '[{"prompt":"a"}]'])),
  ];
  while (out.length < count) out.push(pick(generators)());
  return out;
}
