import type { Request, Response } from 'express';
import { describe, expect, it } from 'vitest';
import { AppError } from '../../core/errors.ts';
import { basicAuth, parseBasicAuth } from '../../dashboard/auth.ts';
import { announceGeneratedPassword, boardCredentials } from '../../dashboard/credentials.ts';

const basic = (text: string) => `Basic ${Buffer.from(text).toString('base64')}`;

/** Runs the middleware once; resolves with what it passed to next(). */
function run(header: string | undefined): unknown {
  const middleware = basicAuth({ user: 'operator', password: 'correct horse: battery' });
  let passed: unknown = 'not called';
  middleware({ headers: header === undefined ? {} : { authorization: header } } as Request, {} as Response, (error?: unknown) => {
    passed = error;
  });
  return passed;
}

describe('parseBasicAuth', () => {
  it('reads user and password, keeping colons in the password', () => {
    expect(parseBasicAuth(basic('operator:a:b:c'))).toEqual({ user: 'operator', password: 'a:b:c' });
    expect(parseBasicAuth(`basic   ${Buffer.from('u:p').toString('base64')}`)).toEqual({ user: 'u', password: 'p' });
  });

  it('refuses other schemes and malformed values', () => {
    expect(parseBasicAuth(undefined)).toBeUndefined();
    expect(parseBasicAuth('Bearer abc')).toBeUndefined();
    expect(parseBasicAuth(basic('no-colon'))).toBeUndefined();
    expect(parseBasicAuth('Basic !!!')).toBeUndefined();
  });
});

describe('basicAuth', () => {
  it('lets the right user and password through', () => {
    expect(run(basic('operator:correct horse: battery'))).toBeUndefined();
  });

  it('answers 401 with a Basic challenge otherwise', () => {
    for (const header of [undefined, basic('operator:wrong'), basic('admin:correct horse: battery'), basic('operator:'), 'Bearer x']) {
      const error = run(header);
      expect(error, String(header)).toBeInstanceOf(AppError);
      expect((error as AppError).status).toBe(401);
      expect((error as AppError).options.headers?.['WWW-Authenticate']).toMatch(/^Basic realm="llm-orchestrator"/);
    }
  });
});

describe('boardCredentials', () => {
  it('uses DASHBOARD_USER and DASHBOARD_PASSWORD when set', () => {
    expect(boardCredentials({ DASHBOARD_USER: 'ops', DASHBOARD_PASSWORD: 'secret-secret' })).toEqual({
      user: 'ops',
      password: 'secret-secret',
      generated: false,
    });
  });

  it('makes up a different strong password at each start when none is set', () => {
    const a = boardCredentials({ DASHBOARD_USER: 'admin', DASHBOARD_PASSWORD: undefined });
    const b = boardCredentials({ DASHBOARD_USER: 'admin', DASHBOARD_PASSWORD: undefined });
    expect(a.generated).toBe(true);
    expect(a.password).toMatch(/^[A-Za-z0-9_-]{24}$/);
    expect(a.password).not.toBe(b.password);
  });

  it('prints a generated password once, and a configured one never', () => {
    const printed: string[] = [];
    const generated = boardCredentials({ DASHBOARD_USER: 'admin', DASHBOARD_PASSWORD: undefined });
    announceGeneratedPassword(generated, 'http://127.0.0.1:8081/admin/queues', (text) => printed.push(text));
    announceGeneratedPassword({ user: 'admin', password: 'configured', generated: false }, 'x', (text) => printed.push(text));
    expect(printed).toHaveLength(1);
    expect(printed[0]).toContain(generated.password);
    expect(printed[0]).toContain('DASHBOARD_PASSWORD');
  });
});
