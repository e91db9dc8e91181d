import { packageBuild } from '../../tsup.config.base.js';

// cli.ts is the binary (ESM with a shebang); index.ts the programmatic API.
export default packageBuild(['src/index.ts', 'src/cli.ts']);
