import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import express, { type Router } from 'express';
import type { Config } from '../../core/config.ts';
import { projectRoot } from '../../core/paths.ts';
import { buildOpenApiDocument } from './document.ts';

/** Swagger UI's files come from the installed package: the page works offline, with no CDN. */
const swaggerUiDir = path.dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/absolute-path.js'));

// URLs are relative to /api/docs, so the page also works behind a proxy that mounts the API under a prefix.
const initScript = `window.addEventListener('load', function () {
  window.ui = SwaggerUIBundle({ url: 'openapi.json', dom_id: '#swagger-ui', deepLinking: true });
});`;

const page = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>llm-orchestrator API</title>
<link rel="stylesheet" href="docs/assets/swagger-ui.css">
<link rel="icon" type="image/png" href="docs/assets/favicon-32x32.png">
</head>
<body>
<div id="swagger-ui"></div>
<script src="docs/assets/swagger-ui-bundle.js"></script>
<script>${initScript}</script>
</body>
</html>
`;

/** The page's own policy: scripts only from here plus the one inline script above (by its hash). */
const contentSecurityPolicy = [
  "default-src 'self'",
  `script-src 'self' 'sha256-${createHash('sha256').update(initScript).digest('base64')}'`,
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'self'",
  "frame-ancestors 'none'",
].join('; ');

/** GET /api/openapi.json (the API description) and GET /api/docs (Swagger UI over it). */
export function docsRouter(config: Config): Router {
  const { version } = JSON.parse(readFileSync(path.join(projectRoot, 'package.json'), 'utf8')) as { version: string };
  const document = JSON.stringify(buildOpenApiDocument(config, version));
  const router = express.Router();
  router.get('/api/openapi.json', (_req, res) => {
    res.type('application/json').send(document);
  });
  router.get('/api/docs', (req, res) => {
    // With a trailing slash the page's relative URLs would point one level too deep.
    if (req.path.endsWith('/')) {
      const query = req.originalUrl.indexOf('?');
      res.redirect(301, `../docs${query === -1 ? '' : req.originalUrl.slice(query)}`);
      return;
    }
    res.setHeader('Content-Security-Policy', contentSecurityPolicy);
    res.type('html').send(page);
  });
  router.use('/api/docs/assets', express.static(swaggerUiDir, { index: false, maxAge: '1d' }));
  return router;
}
