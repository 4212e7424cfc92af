import SwaggerParser from '@apidevtools/swagger-parser';
import type { Express } from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { http, startStack, type TestStack } from '../support/stack.ts';

interface Layer {
  rawPath?: unknown;
  route?: { path: unknown; methods: Record<string, boolean> };
  handle?: { stack?: Layer[] };
}

/** `METHOD /path/{param}` of every route the app has mounted, nested routers included, read from Express itself. */
function mountedRoutes(app: Express): string[] {
  const routes: string[] = [];
  // A router's `/` route serves its mount path (`/v1/files`): Express ignores one trailing slash.
  const join = (base: string, path: string) => {
    const joined = `${base.replace(/\/$/, '')}${path}`;
    return joined.length > 1 ? joined.replace(/\/$/, '') : joined;
  };
  const walk = (stack: Layer[], base: string) => {
    for (const layer of stack) {
      if (layer.route) {
        if (typeof layer.route.path !== 'string') throw new Error(`a route without a plain path under ${base}: document it by hand`);
        const path = join(base, layer.route.path).replace(/:(\w+)/g, '{$1}');
        for (const [method, on] of Object.entries(layer.route.methods)) if (on && method !== '_all') routes.push(`${method.toUpperCase()} ${path}`);
      } else if (layer.handle?.stack) {
        walk(layer.handle.stack, typeof layer.rawPath === 'string' && layer.rawPath !== '/' ? join(base, layer.rawPath) : base);
      }
    }
  };
  walk((app as unknown as { router: { stack: Layer[] } }).router.stack, '');
  return routes.sort();
}

describe('GET /api/openapi.json', () => {
  let stack: TestStack;
  let document: any;

  beforeAll(async () => {
    stack = await startStack({ worker: false, env: { MAX_TOKENS_LIMIT: '777', MAX_PROMPT_CHARS: '5000' } });
    document = (await http(stack.baseUrl, 'GET', '/api/openapi.json')).body;
  });
  afterAll(async () => {
    await stack?.close();
  });

  it('is a valid OpenAPI 3.1 document', async () => {
    expect(document.openapi).toBe('3.1.0');
    // validate() dereferences in place: give it a copy.
    await expect(SwaggerParser.validate(structuredClone(document))).resolves.toBeDefined();
  });

  it('describes exactly the routes the server mounts', () => {
    const documented = Object.entries(document.paths as Record<string, Record<string, unknown>>)
      .flatMap(([path, operations]) => Object.keys(operations).map((method) => `${method.toUpperCase()} ${path}`))
      .sort();
    const mounted = mountedRoutes(stack.api.app);
    expect(mounted.length).toBeGreaterThanOrEqual(10);
    expect(documented).toEqual(mounted);
  });

  it('is generated from the schemas the server validates with, with this deployment limits', async () => {
    const schemas = document.components.schemas;
    expect(schemas.ChatCompletionRequest.properties.max_tokens.anyOf[0].maximum).toBe(777);
    expect(schemas.JobRequest.properties.max_tokens.maximum).toBe(777);
    expect(schemas.JobRequest.properties.prompt.maxLength).toBe(5000);
    expect(schemas.ChatCompletionRequest.additionalProperties).toBe(false);
    // What the document says is what the server does: the limit it shows is the one it enforces.
    const over = await http(stack.baseUrl, 'POST', '/v1/chat/completions', {
      model: stack.api.deps.modelId,
      messages: [{ role: 'user', content: 'Hi' }],
      max_tokens: 778,
    });
    expect(over.status).toBe(400);
    expect(over.body.error.param).toBe('max_tokens');
  });

  it('names the request body of every POST that takes one', () => {
    // Cancelling a batch is a POST without a body, as in OpenAI's API.
    const bodiless = new Set(['/v1/batches/{id}/cancel']);
    for (const [path, operations] of Object.entries(document.paths as Record<string, Record<string, any>>)) {
      if (bodiless.has(path)) {
        expect(operations.post?.requestBody, path).toBeUndefined();
        continue;
      }
      // JSON, or the multipart form of an upload (POST /v1/files).
      const content = operations.post?.requestBody?.content;
      if (operations.post) expect((content?.['application/json'] ?? content?.['multipart/form-data'])?.schema.$ref, path).toMatch(/^#\/components\/schemas\//);
    }
  });
});

describe('GET /api/docs', () => {
  let stack: TestStack;

  beforeAll(async () => {
    stack = await startStack({ worker: false });
  });
  afterAll(async () => {
    await stack?.close();
  });

  it('serves Swagger UI from this server (no CDN), pointed at the document', async () => {
    const page = await fetch(`${stack.baseUrl}/api/docs`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    const html = await page.text();
    expect(html).not.toMatch(/https?:\/\//);
    expect(html).toContain("url: 'openapi.json'");
    for (const asset of html.matchAll(/(?:src|href)="([^"]+)"/g)) {
      const response = await fetch(new URL(asset[1]!, `${stack.baseUrl}/api/docs`));
      expect(response.status, asset[1]).toBe(200);
    }
  });

  it('redirects the trailing-slash form, whose relative links would break', async () => {
    const response = await fetch(`${stack.baseUrl}/api/docs/`, { redirect: 'manual' });
    expect(response.status).toBe(301);
    expect(new URL(response.headers.get('location')!, `${stack.baseUrl}/api/docs/`).pathname).toBe('/api/docs');
  });
});
