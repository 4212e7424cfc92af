/**
 * Architecture rules, checked by `npm run lint` (dependency-cruiser). docs/architecture.md
 * describes the roles; these rules keep their imports honest:
 *
 * - core/ is shared by every role, so it knows none of them (nor the tools, bench and tests);
 * - each role has one composition root (`<role>/main.ts`), and only all/ composes several roles:
 *   a role that imported another would drag its code (and its dependencies) into its process;
 * - the benchmark measures the system, so it must not depend on test code.
 *
 * Type-only imports count too (tsPreCompilationDeps): they tie the code together as much as any.
 * An import that cannot be resolved is an error, so that a change in resolution (a new extension,
 * a tsconfig option) cannot quietly turn every dependency into an unknown one that no rule matches.
 */

/** @type {import('dependency-cruiser').IConfiguration} */
export default {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'A cycle makes two modules one: neither can be understood, tested or moved alone.',
      from: {},
      to: { circular: true },
    },
    {
      name: 'api-only-in-api-and-all',
      severity: 'error',
      comment:
        'api/ is the HTTP role. Only all/ (the composition root of every role) and the tests may import it; ' +
        'what another role needs from it belongs in core/.',
      from: { pathNot: '^(api|all|test)/' },
      to: { path: '^api/' },
    },
    {
      name: 'dashboard-not-to-other-roles',
      severity: 'error',
      comment: 'The dashboard is a role of its own: what it shares with the API or the worker belongs in core/.',
      from: { path: '^dashboard/' },
      to: { path: '^(api|worker)/' },
    },
    {
      name: 'worker-not-to-other-roles',
      severity: 'error',
      comment: 'The worker is a role of its own: what it shares with the API or the dashboard belongs in core/.',
      from: { path: '^worker/' },
      to: { path: '^(api|dashboard)/' },
    },
    {
      name: 'core-is-shared',
      severity: 'error',
      comment: 'core/ is shared by every role, so it may not depend on any of them, nor on tools, bench or tests.',
      from: { path: '^core/' },
      to: { path: '^(api|worker|dashboard|all|bench|tools|test)/' },
    },
    {
      name: 'bench-not-to-test',
      severity: 'error',
      comment: 'The benchmark must not depend on test code: what both need lives in tools/ (e.g. tools/role-process.ts).',
      from: { path: '^bench/' },
      to: { path: '^test/' },
    },
    {
      name: 'not-to-unresolvable',
      severity: 'error',
      comment: 'An import that does not resolve escapes every rule above (or the package is missing from package.json).',
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    // Everything in the checkout, so a new top-level folder is checked without anyone remembering to add it.
    exclude: { path: '^(node_modules|dist|coverage|test-results|scratch|bench/results)/' },
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    // Imports name `.ts` files (allowImportingTsExtensions); resolution follows tsconfig.json.
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'types', 'default'],
      mainFields: ['module', 'main', 'types', 'typings'],
      extensions: ['.ts', '.mts', '.js', '.mjs', '.cjs', '.json', '.d.ts'],
    },
    reporterOptions: {
      text: { highlightFocused: true },
    },
  },
};
