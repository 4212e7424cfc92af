import { describe, expect, it } from 'vitest';
import { redactUrl, redactUrlsIn } from '../../core/redact-url.ts';

describe('redactUrl', () => {
  it('hides the user and token of a URL', () => {
    expect(redactUrl('https://user:hf_token123@example.com/models/m.gguf')).toBe('https://***@example.com/models/m.gguf');
    expect(redactUrl('https://token-only@example.com/m.gguf')).toBe('https://***@example.com/m.gguf');
  });

  it('hides the password of a Redis URL and keeps host, port and database', () => {
    expect(redactUrl('redis://:s3cret@redis.internal:6380/2')).toBe('redis://***@redis.internal:6380/2');
    expect(redactUrl('rediss://default:s3cret@cache.example.com:6379')).toBe('rediss://***@cache.example.com:6379');
  });

  it('hides the query of a presigned URL', () => {
    const signed =
      'https://bucket.s3.eu-west-1.amazonaws.com/models/m.gguf?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAEXAMPLE%2F20250101' +
      '&X-Amz-Signature=abcdef0123456789';
    expect(redactUrl(signed)).toBe('https://bucket.s3.eu-west-1.amazonaws.com/models/m.gguf?***');
  });

  it('hides the fragment', () => {
    expect(redactUrl('https://example.com/m.gguf#access_token=abc')).toBe('https://example.com/m.gguf#***');
    expect(redactUrl('https://u:p@example.com/m.gguf?sig=1#t=2')).toBe('https://***@example.com/m.gguf?***#***');
  });

  it('leaves URLs without secrets as they are', () => {
    expect(redactUrl('https://huggingface.co/Qwen/Qwen2.5-0.5B-Instruct-GGUF/resolve/main/q8_0.gguf')).toBe(
      'https://huggingface.co/Qwen/Qwen2.5-0.5B-Instruct-GGUF/resolve/main/q8_0.gguf',
    );
    expect(redactUrl('http://127.0.0.1:6379')).toBe('http://127.0.0.1:6379');
  });

  it('leaves hf: URIs, paths and builtin names untouched', () => {
    for (const setting of ['hf:user/repo/file.gguf#dev', 'huggingface:user/model:Q8_0', '/models/a@b.gguf', 'builtin:tiny', 'models/x.gguf?']) {
      expect(redactUrl(setting)).toBe(setting);
    }
  });

  it('does not throw on malformed input, and keeps only the scheme of a URL it cannot parse', () => {
    for (const bad of ['https://user:pa ss@[bad/x?sig=1', 'http://', 'redis://:secret@host:notaport', '', '://x', 'https//x']) {
      expect(() => redactUrl(bad)).not.toThrow();
    }
    expect(redactUrl('https://user:pa ss@[bad/x?sig=1')).toBe('https://***');
    expect(redactUrl('redis://:secret@host:notaport')).toBe('redis://***');
  });
});

describe('redactUrlsIn', () => {
  it('redacts every URL quoted in a message and nothing else', () => {
    expect(redactUrlsIn('Request cannot be constructed from a URL that includes credentials: https://u:tok@h.example/m.gguf?sig=x')).toBe(
      'Request cannot be constructed from a URL that includes credentials: https://***@h.example/m.gguf?***',
    );
    expect(redactUrlsIn('from "redis://:pw@a:1" to https://b/c, done')).toBe('from "redis://***@a:1" to https://b/c, done');
    expect(redactUrlsIn('no url here: hf:user/repo')).toBe('no url here: hf:user/repo');
  });
});
