// bench:server's load generator, run in a child process: autocannon in the server's own process
// would share its event loop and take time from the requests it measures. Receives one job over
// IPC, cycles GET requests through the given paths, and sends autocannon's result back.
import { createRequire } from 'node:module';

export interface LoadJob {
  url: string;
  connections: number;
  duration: number;
  /** Request paths, used in turn. */
  paths: string[];
}

interface CannonRequest {
  method?: string;
  path?: string;
  setupRequest?: (req: CannonRequest) => CannonRequest;
}
type Cannon = (opts: { url: string; connections: number; duration: number; requests: CannonRequest[] }) => Promise<unknown>;

const autocannon = createRequire(import.meta.url)('autocannon') as Cannon;

process.once('message', (job: LoadJob) => {
  let next = 0;
  const requests = [{ method: 'GET', setupRequest: (req: CannonRequest) => ({ ...req, path: job.paths[next++ % job.paths.length] }) }];
  autocannon({ url: job.url, connections: job.connections, duration: job.duration, requests }).then(
    (result) => process.send!(result, () => process.exit(0)),
    (e: Error) => {
      console.error(`load generator: ${e.message}`);
      process.exit(1);
    },
  );
});
