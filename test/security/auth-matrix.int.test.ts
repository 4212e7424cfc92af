import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isOpenPath } from '../../api/request-guard/public-paths.ts';
import { startStack, type TestStack } from '../support/stack.ts';
import { mountedRoutes, type MountedRoute } from './routes.ts';

const VALID = 'matrix-key-0123456789abcdef';
const OTHER_VALID = 'matrix-key-fedcba9876543210';
const WRONG = 'matrix-key-0123456789abcdeX';

type Credential = 'none' | 'wrong' | 'bearer' | 'x-api-key';

const headersFor = (credential: Credential): Record<string, string> => {
  switch (credential) {
    case 'none':
      return {};
    case 'wrong':
      return { authorization: `Bearer ${WRONG}` };
    case 'bearer':
      return { authorization: `Bearer ${VALID}` };
    case 'x-api-key':
      return { 'x-api-key': OTHER_VALID };
  }
};

/** One request; the status and body are read as soon as headers arrive (streams are not awaited). */
async function call(baseUrl: string, route: Pick<MountedRoute, 'method' | 'path'>, credential: Credential) {
  const hasBody = route.method === 'POST' || route.method === 'PUT' || route.method === 'PATCH';
  const response = await fetch(`${baseUrl}${route.path}`, {
    method: route.method,
    headers: { ...headersFor(credential), ...(hasBody ? { 'content-type': 'application/json' } : {}) },
    ...(hasBody ? { body: '{}' } : {}),
    signal: AbortSignal.timeout(10_000),
  });
  const type = response.headers.get('content-type') ?? '';
  const body = type.includes('application/json') ? ((await response.json()) as { error?: { code?: string } }) : undefined;
  if (!response.bodyUsed) await response.body?.cancel();
  return { status: response.status, code: body?.error?.code, authenticate: response.headers.get('www-authenticate') };
}

describe('authentication of every route', () => {
  let stack: TestStack;
  let routes: MountedRoute[];

  beforeAll(async () => {
    stack = await startStack({
      worker: false,
      env: { API_KEYS: `${VALID},${OTHER_VALID}`, METRICS_REQUIRE_KEY: 'true', RATE_LIMIT_REQUESTS: '0' },
    });
    routes = mountedRoutes(stack.api.app);
  });
  afterAll(async () => {
    await stack?.close();
  });

  it('finds the routes from the app itself', () => {
    const names = routes.map((route) => `${route.method} ${route.pattern}`);
    expect(names).toEqual(
      expect.arrayContaining(['GET /api/health', 'GET /api/ready', 'POST /api/v1/jobs', 'GET /api/v1/jobs/:id', 'DELETE /api/v1/jobs/:id', 'POST /api/v1/generate']),
    );
  });

  it('refuses every closed route without a key (401 missing_api_key) and with a wrong key (401 invalid_api_key)', async () => {
    const closed = routes.filter((route) => !isOpenPath(route.path, stack.config));
    expect(closed.length).toBeGreaterThanOrEqual(4);
    for (const route of closed) {
      const none = await call(stack.baseUrl, route, 'none');
      expect({ route: route.pattern, method: route.method, ...none }).toMatchObject({ status: 401, code: 'missing_api_key' });
      expect(none.authenticate).toMatch(/^Bearer /);
      const wrong = await call(stack.baseUrl, route, 'wrong');
      expect({ route: route.pattern, method: route.method, ...wrong }).toMatchObject({ status: 401, code: 'invalid_api_key' });
    }
  });

  it('lets every closed route through with a valid key, as a bearer token or as x-api-key', async () => {
    for (const route of routes.filter((r) => !isOpenPath(r.path, stack.config))) {
      for (const credential of ['bearer', 'x-api-key'] as const) {
        const answer = await call(stack.baseUrl, route, credential);
        expect([401, 403], `${route.method} ${route.pattern} with ${credential}`).not.toContain(answer.status);
        expect(answer.status, `${route.method} ${route.pattern} with ${credential}`).toBeLessThan(500);
      }
    }
  });

  it('answers open routes whatever the credentials', async () => {
    const open = routes.filter((route) => isOpenPath(route.path, stack.config));
    expect(open.map((route) => route.pattern)).toContain('/api/health');
    for (const route of open) {
      for (const credential of ['none', 'wrong', 'bearer'] as const) {
        const answer = await call(stack.baseUrl, route, credential);
        expect([401, 403], `${route.method} ${route.pattern} with ${credential}`).not.toContain(answer.status);
      }
    }
  });

  it('answers unknown paths 401 without a key and 404 with one, so routes are not revealed', async () => {
    const route = { method: 'GET', path: '/api/v1/nothing-here' };
    expect(await call(stack.baseUrl, route, 'none')).toMatchObject({ status: 401 });
    expect(await call(stack.baseUrl, route, 'bearer')).toMatchObject({ status: 404, code: 'route_not_found' });
  });
});

describe('authentication when no keys are configured', () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await startStack({ worker: false, env: { RATE_LIMIT_REQUESTS: '0' } });
  });
  afterAll(async () => {
    await stack?.close();
  });

  it('serves every route anonymously, keys or not', async () => {
    for (const route of mountedRoutes(stack.api.app)) {
      for (const credential of ['none', 'wrong'] as const) {
        const answer = await call(stack.baseUrl, route, credential);
        expect([401, 403], `${route.method} ${route.pattern} with ${credential}`).not.toContain(answer.status);
      }
    }
  });
});

describe('authentication of /metrics when METRICS_REQUIRE_KEY is false', () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await startStack({ worker: false, env: { API_KEYS: VALID, METRICS_REQUIRE_KEY: 'false', RATE_LIMIT_REQUESTS: '0' } });
  });
  afterAll(async () => {
    await stack?.close();
  });

  it('serves /metrics without a key while the API itself still needs one', async () => {
    expect(mountedRoutes(stack.api.app).map((route) => route.pattern)).toContain('/metrics');
    expect(await call(stack.baseUrl, { method: 'GET', path: '/metrics' }, 'none')).toMatchObject({ status: 200 });
    expect(await call(stack.baseUrl, { method: 'GET', path: '/api/v1/jobs/x' }, 'none')).toMatchObject({ status: 401 });
  });
});
