// Tests are TypeScript run by tsx; the "@clientcert/source" export condition makes
// workspace packages resolve to their src/ so tests need no build step.
module.exports = {
  spec: ['test/**/*.test.ts'],
  'node-option': ['conditions=@clientcert/source', 'import=tsx'],
  timeout: 30000,
  'check-leaks': true,
  'forbid-only': Boolean(process.env.CI),
  reporter: 'spec',
};
