// `npm start`: read the configuration from the environment, start the server, shut down
// gracefully on SIGTERM/SIGINT. Start-up problems print one line saying what to do, exit 1.
import { startServer } from './app.js';
import type { RunningServer } from './app.js';
import { ConfigError, loadConfig } from './config.js';
import { StartupError } from './errors.js';

async function main(): Promise<void> {
  let server: RunningServer;
  try {
    server = await startServer(loadConfig(process.env));
  } catch (e) {
    if (e instanceof StartupError || e instanceof ConfigError) {
      console.error(`sealed-call: ${e.message}`);
      process.exit(1);
    }
    throw e;
  }
  console.log(`sealed-call: open ${server.url} (ANNOUNCED_IP sets the media address other machines reach)`);
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`sealed-call: ${signal}, shutting down`);
    const force = setTimeout(() => process.exit(1), 8000);
    force.unref();
    server.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

main().catch((e: unknown) => {
  console.error(`sealed-call: failed to start: ${(e as Error).message}`);
  process.exit(1);
});
