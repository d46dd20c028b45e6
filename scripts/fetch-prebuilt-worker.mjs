// Downloads mediasoup's official prebuilt worker for this version, OS, CPU and kernel
// (the same file name mediasoup's own postinstall asks for) into OUT_DIR.
// Exit 0 with OUT_DIR/mediasoup-worker on success, 1 otherwise. Never builds anything.
// Usage: node scripts/fetch-prebuilt-worker.mjs MEDIASOUP_DIR OUT_DIR
import { readFileSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';

const [msDir, outDir] = process.argv.slice(2);
if (!msDir || !outDir) {
  console.error('usage: fetch-prebuilt-worker.mjs MEDIASOUP_DIR OUT_DIR');
  process.exit(2);
}
const pkg = JSON.parse(readFileSync(path.join(msDir, 'package.json'), 'utf8'));
const base =
  process.env.MEDIASOUP_WORKER_PREBUILT_DOWNLOAD_BASE_URL ??
  `${String(pkg.repository?.url ?? '').replace(/^git\+/, '').replace(/\.git$/, '')}/releases/download`;
let name = `mediasoup-worker-${pkg.version}-${os.platform()}-${os.arch()}`;
if (os.platform() === 'linux') name += `-kernel${Number(os.release().split('.')[0])}`;
const url = `${base}/${pkg.version}/${name}.tgz`;
const timeoutMs = Number(process.env.SEALED_PREBUILT_TIMEOUT_MS ?? 20000);

try {
  const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  if (!res.ok) throw new Error(`HTTP ${res.status}`);
  const tgz = path.join(outDir, 'worker.tgz');
  writeFileSync(tgz, Buffer.from(await res.arrayBuffer()));
  execFileSync('tar', ['-xzf', tgz, '-C', outDir]);
  process.exit(0);
} catch (err) {
  const reason = err instanceof Error ? (err.cause?.code ?? err.message) : String(err);
  console.log(`fetch-prebuilt-worker: not available (${reason})`);
  process.exit(1);
}
