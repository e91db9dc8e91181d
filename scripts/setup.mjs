#!/usr/bin/env node
// One-time set-up from nothing but Node and npm: pinned pnpm, dependencies, built packages.
// Re-running it is cheap: pnpm install is a no-op when the lockfile is satisfied.
import { pnpm } from './pnpm.mjs';

const frozen = process.env.CI ? ['--frozen-lockfile'] : [];
for (const args of [
  ['install', ...frozen],
  ['run', 'build'],
]) {
  const status = pnpm(args);
  if (status !== 0) {
    console.error(`setup failed: pnpm ${args.join(' ')} exited ${status}`);
    process.exit(status);
  }
}
