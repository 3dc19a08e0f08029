// npm run bench:server — HTTP load on the web service while it writes surveys: 50 connections for
// 30 s on /api/search cycling through ≥ 200 distinct queries, then on GET /api/surveys/:id, with
// extractive survey jobs running in the server's worker the whole time. Uses the configured
// index (./data by default; built from the corpus bundle once when missing). The load comes from
// a child process (load-client.ts), so the figures measure the server, not the load generator.
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { loadConfig } from '../config.js';
import { PaperIndex } from '../index/paper-index.js';
import { startServer } from '../server/serve.js';
import { table } from './common.js';
import type { LoadJob } from './load-client.js';

interface CannonResult {
  latency: { p50: number; p99: number; average: number; max: number };
  requests: { average: number; total: number };
  errors: number;
  timeouts: number;
  non2xx: number;
  statusCodeStats: Record<string, { count: number }>;
}

/** Runs one load in a child process (load-client.ts) and returns autocannon's result. */
function load(job: LoadJob): Promise<CannonResult> {
  return new Promise((resolve, reject) => {
    const child = fork(fileURLToPath(new URL('./load-client.js', import.meta.url)), { stdio: 'inherit' });
    child.once('message', (result) => resolve(result as CannonResult));
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`the load generator exited with code ${code} before answering`)));
    child.send(job);
  });
}

interface Row {
  endpoint: string;
  result: CannonResult;
  surveysRunning: string;
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { duration: { type: 'string', default: '30' }, connections: { type: 'string', default: '50' }, queries: { type: 'string', default: '300' } } });
  const duration = Number(values.duration);
  const connections = Number(values.connections);
  const nQueries = Number(values.queries);
  if (!(duration > 0 && connections > 0 && nQueries >= 1)) throw new Error('--duration, --connections and --queries must be positive numbers');
  const config = loadConfig();
  console.error(`index: ${config.indexUri} (corpus ${config.corpus.join(', ')}; built once if missing)`);
  const server = await startServer(config, { host: '127.0.0.1', port: 0, limits: { rate: 1e6, burst: 1e6 }, log: (l) => console.error(l), token: undefined });
  try {
    const index = await PaperIndex.open(config.indexUri);
    const papers = await index.count();
    // Distinct queries: titles spread over the whole table.
    const titles = (await index.papers().query().select(['title']).limit(papers).toArray()) as { title: string }[];
    const step = Math.max(1, Math.floor(titles.length / nQueries));
    const queries = [...new Set(titles.filter((_, i) => i % step === 0).map((t) => t.title.slice(0, 200)))].slice(0, nQueries);
    if (queries.length < Math.min(200, nQueries)) throw new Error(`only ${queries.length} distinct queries in the index (need 200)`);

    // Keep the worker busy: extractive surveys queued back to back for the whole run.
    const topics = ['retrieval-augmented generation', 'neural machine translation', 'speech recognition', 'code generation', 'question answering', 'summarization', 'named entity recognition', 'dialogue systems'];
    const jobIds: string[] = [];
    const queue = async (topic: string) => {
      const r = await fetch(`${server.url}/api/surveys`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ topic, sections: 6 }) });
      if (r.status !== 202) throw new Error(`POST /api/surveys answered ${r.status}: ${await r.text()}`);
      jobIds.push(((await r.json()) as { id: string }).id);
    };
    for (const t of topics) await queue(t);
    const states = async () => {
      const counts: Record<string, number> = {};
      for (const id of jobIds) {
        const s = ((await (await fetch(`${server.url}/api/surveys/${id}`)).json()) as { state: string }).state;
        counts[s] = (counts[s] ?? 0) + 1;
      }
      return counts;
    };
    await fetch(`${server.url}/api/search?q=warm+up`);

    const rows: Row[] = [];
    const searchPaths = queries.map((query) => `/api/search?k=10&q=${encodeURIComponent(query)}`);
    const search = await load({ url: server.url, connections, duration, paths: searchPaths });
    rows.push({ endpoint: `GET /api/search (${queries.length} distinct queries)`, result: search, surveysRunning: JSON.stringify(await states()) });
    // One connection: the service time of a search without queueing behind 49 others.
    const single = await load({ url: server.url, connections: 1, duration: Math.max(5, Math.round(duration / 3)), paths: searchPaths });
    rows.push({ endpoint: 'GET /api/search, 1 connection', result: single, surveysRunning: JSON.stringify(await states()) });

    const status = await load({ url: server.url, connections, duration, paths: jobIds.map((id) => `/api/surveys/${id}`) });
    rows.push({ endpoint: `GET /api/surveys/:id (${jobIds.length} jobs)`, result: status, surveysRunning: JSON.stringify(await states()) });

    const limited = (r: CannonResult) => r.statusCodeStats['429']?.count ?? 0;
    console.log(`\n${papers.toLocaleString('en-US')} papers in the index; ${connections} connections × ${duration} s per endpoint; extractive surveys queued throughout.\n`);
    console.log(
      table(
        ['endpoint', 'requests/s', 'p50 ms', 'p99 ms', 'max ms', 'requests', 'errors', 'timeouts', 'non-2xx (excl. 429)', '429', 'jobs after the run'],
        rows.map(({ endpoint, result: r, surveysRunning }) => [
          endpoint,
          r.requests.average.toFixed(0),
          r.latency.p50,
          r.latency.p99,
          r.latency.max,
          r.requests.total,
          r.errors,
          r.timeouts,
          r.non2xx - limited(r),
          limited(r),
          surveysRunning,
        ]),
      ),
    );
    const loaded = rows.filter((r) => !r.endpoint.includes('1 connection'));
    const ok = loaded.every((r) => r.result.errors === 0 && r.result.latency.p99 < 200);
    console.log(`\ntargets at ${connections} connections (0 errors, p99 < 200 ms): ${ok ? 'met' : 'NOT met'}`);
    // Stop the remaining jobs rather than leave them queued in ./data.
    for (const id of jobIds) await fetch(`${server.url}/api/surveys/${id}`, { method: 'DELETE' });
  } finally {
    await server.close();
  }
}

main().catch((e: Error) => {
  console.error(`bench:server: ${e.message}`);
  process.exit(1);
});
