import { packageBuild } from '../../tsup.config.base.js';

// The test kit is its own entry point so that the middleware never loads its dependencies. Named
// entries keep the published file names (dist/index.*, dist/testkit.*) whatever folder the source is in.
export default { ...packageBuild(), entry: { index: 'src/index.ts', testkit: 'src/testkit/index.ts' } };
