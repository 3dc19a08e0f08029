// npm run bench:pipeline — (a) extractive surveys on the corpus bundle, time per stage;
// (b, with --engine) an engine survey with the MiniCPM4-0.5B shape in Q4_0 (random weights):
// time per stage and prefix-cache hit tokens; (c) library recall against the dev topics'
// reference lists, beside plain BM25 on the topic at the same count. Prints Markdown tables.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig } from '../config.js';
import { openIndex } from '../corpus/default-index.js';
import type { Engine } from '../engine/types.js';
import { createEmbedder, DEFAULT_EMBEDDER } from '../index/embedders.js';
import { search } from '../index/search.js';
import { JobStore, workerId } from '../pipeline/jobs.js';
import { DEFAULT_REQUEST, runSurvey, type SurveyJobOptions, type SurveyResult } from '../pipeline/run-survey.js';
import { openDb } from '../store/db.js';
import { positiveInt, requireShared, table } from './common.js';

interface Topic {
  topic: string;
  reference_ids: string[];
}

const secs = (ms: number) => (ms / 1000).toFixed(2);

function stageRow(label: string, r: SurveyResult, wallMs: number): (string | number)[] {
  const sectionsMs = r.sections.reduce((t, s) => t + s.ms, 0);
  return [label, secs(r.plan.ms), secs(r.library.ms), secs(sectionsMs), secs(r.frame.ms), secs(r.assembly.ms), secs(wallMs), r.library.papers.length, r.assembly.counts.cited];
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      engine: { type: 'boolean', default: false },
      'engine-sections': { type: 'string', default: '8' },
      'engine-library-tokens': { type: 'string', default: '16384' },
      'engine-section-tokens': { type: 'string', default: '400' },
      'engine-model': { type: 'string' },
      // DESIGN: long libraries use InfLLM v2 block-sparse attention (MiniCPM4-0.5B does not declare it).
      'engine-sparse': { type: 'boolean', default: false },
      topics: { type: 'string' },
      until: { type: 'string' },
      seed: { type: 'string', default: '1' },
    },
  });
  const seed = positiveInt('seed', values.seed);
  const until = values.until === undefined ? undefined : positiveInt('until', values.until);
  const libraryTokens = positiveInt('engine-library-tokens', values['engine-library-tokens']);
  const sectionTokens = positiveInt('engine-section-tokens', values['engine-section-tokens']);
  const sections = positiveInt('engine-sections', values['engine-sections']);
  const topics = readFileSync(values.topics ?? requireShared('eval/topics-dev.jsonl'), 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as Topic);
  const config = loadConfig();
  const embedder = createEmbedder(DEFAULT_EMBEDDER, config.cacheDir);
  const { index } = await openIndex(config, embedder, { onBuildStart: (c) => console.error(`building the index from ${c.join(', ')} (once)…`) });
  const papers = await index.count();
  // --until YEAR dates the surveys (library and BM25 alike), as the reference surveys were written before the newest papers.
  const filters = until === undefined ? {} : { until };
  const tmp = mkdtempSync(join(tmpdir(), 'litsurvey-bench-pipeline-'));
  const db = openDb(join(tmp, 'bench.sqlite'));
  const store = new JobStore(db);
  const owner = workerId();
  await search(index, embedder, 'warm up the caches', { k: 20 });

  const run = async (topic: string, engine: Engine | null, options: Omit<Partial<SurveyJobOptions>, 'request'> & { request?: Partial<SurveyJobOptions['request']> } = {}) => {
    const jobOptions: SurveyJobOptions = { request: { ...DEFAULT_REQUEST, topic, filters, seed, ...options.request }, engine: options.engine ?? null, outlineTokens: options.outlineTokens, libraryTokens: options.libraryTokens };
    const id = store.create(topic, jobOptions);
    const t0 = performance.now();
    const result = await runSurvey({ store, index, embedder, engine }, id, {
      owner,
      onStage: (e) => {
        if (engine && e.state !== 'progress') console.error(`  ${e.stage} ${e.state}${e.detail ? ` ${e.detail}` : ''}`);
      },
    });
    return { result, wallMs: performance.now() - t0 };
  };

  try {
    // (a) + (c): extractive surveys of the dev topics.
    const timing: (string | number)[][] = [];
    const recall: (string | number)[][] = [];
    let pooledRefs = 0;
    let pooledLib = 0;
    let pooledBm25 = 0;
    for (const t of topics) {
      const { result, wallMs } = await run(t.topic, null);
      timing.push(stageRow(t.topic, result, wallMs));
      const lib = new Set(result.library.papers.map((p) => p.id));
      const bm25 = await search(index, embedder, t.topic, { k: lib.size, candidates: lib.size, mode: 'text', filters });
      const refs = t.reference_ids;
      const foundLib = refs.filter((id) => lib.has(id)).length;
      const foundBm25 = bm25.filter((h) => refs.includes(h.id)).length;
      pooledRefs += refs.length;
      pooledLib += foundLib;
      pooledBm25 += foundBm25;
      recall.push([t.topic, refs.length, lib.size, foundLib, foundBm25]);
    }
    const pct = (n: number) => `${n} (${((100 * n) / Math.max(1, pooledRefs)).toFixed(1)}%)`;
    recall.push(['**pooled**', pooledRefs, '', pct(pooledLib), pct(pooledBm25)]);

    console.log(`\n## Pipeline benchmark (${papers.toLocaleString('en-US')} papers)\n`);
    console.log('### (a) Extractive survey, seconds per stage (6 sections, library ≤ 200 papers)\n');
    console.log(table(['topic', 'plan', 'retrieve', 'write sections', 'frame', 'assemble', 'total', 'library', 'cited'], timing));
    console.log(`\n### (c) Library recall of the dev topics' reference papers (library vs BM25 on the topic, same count${values.until ? `, both until ${values.until}` : ''})\n`);
    console.log(table(['topic', 'references', 'library size', 'in library', 'in BM25 top-N'], recall));
    console.log(`\nPooled: library ${pooledLib}/${pooledRefs}, BM25 ${pooledBm25}/${pooledRefs} → ${(pooledLib / Math.max(1, pooledBm25)).toFixed(2)}× BM25.`);

    // (b) engine survey with the MiniCPM4-0.5B shape (Q4_0, random weights).
    if (values.engine) {
      const { synthModel } = await import('../engine/modelfile/synth.js');
      const { NativeEngine } = await import('../engine/engine.js');
      const modelPath = values['engine-model'] ?? join(tmp, 'minicpm4-0.5b-q4_0.gguf');
      if (!values['engine-model']) {
        console.error('synthesising the MiniCPM4-0.5B shape in Q4_0 (random weights)…');
        synthModel({ out: modelPath, arch: 'minicpm', shape: 'minicpm4-0.5b', type: 'q4_0', log: (l) => console.error(l) });
      }
      const sparse = values['engine-sparse'];
      const engine = await NativeEngine.load(modelPath, { contextSize: libraryTokens + 2048 + sectionTokens, threads: 2, sparse });
      try {
        console.error(`engine survey: ${sections} sections, library ≤ ${libraryTokens} tokens, ${sectionTokens} tokens per section, ${sparse ? 'sparse' : 'dense'} attention`);
        const { result, wallMs } = await run(topics[0]!.topic, engine, {
          engine: { backend: 'native', model: modelPath, ...(sparse ? { sparse } : {}) },
          request: { sections: Math.max(2, sections), sectionTokens, temperature: 0.7, ignoreEos: true },
          outlineTokens: 300,
          libraryTokens,
        });
        console.log(`\n### (b) Engine survey, MiniCPM4-0.5B shape, Q4_0, random weights, ${sparse ? 'InfLLM v2 sparse' : 'dense'} attention\n`);
        console.log(table(['topic', 'plan', 'retrieve + pack', 'write sections', 'frame', 'assemble', 'total', 'library', 'cited'], [stageRow(topics[0]!.topic, result, wallMs)]));
        console.log('\n' + table(['section', 'prompt tokens', 'generated', 'cached (prefix hit)', 'seconds'], result.sections.map((s, i) => [i + 1, s.promptTokens ?? '', s.generatedTokens ?? '', s.cachedTokens ?? 'n/a', secs(s.ms)])));
        console.log(`\nPacked libraries (tokens): ${result.library.packing?.libraries.map((l) => `${l.tokens} (${l.paperIds.length} papers)`).join(', ')}; plan source: ${result.plan.source}.`);
      } finally {
        await engine.close();
      }
    }
  } finally {
    db.close();
    rmSync(tmp, { recursive: true, force: true });
  }
}

main().catch((e: Error) => {
  console.error(`bench:pipeline: ${e.message}`);
  process.exitCode = 1;
});
