// Opens the configured index, building it from the configured corpus the first time it is needed.
import type { Config } from '../config.js';
import type { Embedder } from '../index/embedder.js';
import { PaperIndex } from '../index/paper-index.js';
import { ingest, type IngestOptions, type IngestReport } from './ingest.js';

export async function openIndex(config: Config, embedder: Embedder, opts: IngestOptions & { onBuildStart?: (corpus: string[]) => void } = {}): Promise<{ index: PaperIndex; built?: IngestReport }> {
  const index = await PaperIndex.open(config.indexUri);
  if (index.exists && (await index.count()) > 0) {
    index.checkEmbedder(embedder.info);
    return { index };
  }
  opts.onBuildStart?.(config.corpus);
  const built = await ingest(config.corpus, index, embedder, opts);
  return { index, built };
}
