#!/usr/bin/env node
// Builds the browser client into client/dist/:
//   index.html, styles.css        copied from client/
//   app.js                        the page (client/app/main.ts and everything it imports)
//   transform-worker.js           the encoded-transform worker (client/worker/transform-worker.ts)
// Called by `npm start` (prestart) and by the e2e test driver. One-shot, no watch mode.
// Usage: node scripts/build-client.mjs [--minify] [--quiet]
import { build } from 'esbuild';
import { mkdir, copyFile, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const clientDir = join(root, 'client');
const outDir = join(clientDir, 'dist');
const minify = process.argv.includes('--minify');
const quiet = process.argv.includes('--quiet');

const started = Date.now();
await rm(outDir, { recursive: true, force: true });
await mkdir(outDir, { recursive: true });

const common = {
  bundle: true,
  platform: 'browser',
  format: 'esm',
  target: ['chrome111', 'firefox115', 'safari16'],
  sourcemap: true,
  minify,
  logLevel: 'warning',
  legalComments: 'none',
  // mediasoup-client's `debug` dependency reads process.env in some paths.
  define: { 'process.env.NODE_ENV': '"production"' },
};

await Promise.all([
  build({ ...common, entryPoints: [join(clientDir, 'app', 'main.ts')], outfile: join(outDir, 'app.js') }),
  build({
    ...common,
    // A classic (non-module) worker script: every browser with encoded transforms can load it.
    format: 'iife',
    entryPoints: [join(clientDir, 'worker', 'transform-worker.ts')],
    outfile: join(outDir, 'transform-worker.js'),
  }),
  copyFile(join(clientDir, 'index.html'), join(outDir, 'index.html')),
  copyFile(join(clientDir, 'styles.css'), join(outDir, 'styles.css')),
]);

if (!quiet) console.log(`build-client: client/dist written in ${Date.now() - started} ms`);
