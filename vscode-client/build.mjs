// Bundles the extension (dist/extension.js) and, with --tests, each unit test (out/test/).
// esbuild compiles the TypeScript; `npm run typecheck` checks the types.
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

const here = dirname(fileURLToPath(import.meta.url));
const root = dirname(here);
const production = process.argv.includes('--production');
const tests = process.argv.includes('--tests');

const common = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  external: ['vscode'], // provided by the editor at run time
  logLevel: 'warning',
};

await esbuild.build({
  ...common,
  entryPoints: [join(here, 'src', 'extension.ts')],
  outfile: join(root, 'dist', 'extension.js'),
  minify: production,
  sourcemap: !production,
});

if (tests) {
  const testDir = join(here, 'test');
  await esbuild.build({
    ...common,
    entryPoints: readdirSync(testDir)
      .filter((name) => name.endsWith('.test.ts'))
      .map((name) => join(testDir, name)),
    outdir: join(root, 'out', 'test'),
    sourcemap: 'inline',
  });
}
