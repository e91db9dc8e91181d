import { packageBuild } from '../../tsup.config.base.js';

// The test kit is its own entry point so that the middleware never loads its dependencies.
export default packageBuild(['src/index.ts', 'src/testkit.ts']);
