import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';

const root = fileURLToPath(new URL('..', import.meta.url));

describe('the demo (README: npm run demo)', function () {
  this.timeout(60_000);

  it('runs against the built packages and every outcome is as expected', () => {
    if (!existsSync(`${root}packages/express/dist/index.js`)) {
      throw new Error('packages are not built: run `npm test` (it builds first) or `pnpm build`');
    }
    const run = spawnSync(process.execPath, ['examples/demo/demo.mjs'], { cwd: root, encoding: 'utf8' });
    expect(run.stderr).to.equal('');
    expect(run.stdout).to.match(/All 11 outcomes are as expected\./);
    expect(run.stdout).not.to.match(/WRONG/);
    expect(run.status).to.equal(0);
  });
});
