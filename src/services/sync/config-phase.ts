import { mergeLanguageList } from '../../core/sync/selection-filter.js';
import type { RunContext } from './run-context.js';

// GetConfigData: remembers what later phases and the lazy-download hook need (languages,
// CatalogOnlySync, the batch limit) and the config anchor, in one transaction.

const DEFAULT_MAX_PER_REQUEST = 100;

export async function runConfigPhase(ctx: RunContext): Promise<void> {
  const t0 = performance.now();
  const cfg = await ctx.session.configData(ctx.state.anchor('config'));
  const previous = ctx.state.upstreamConfig();
  // A short answer (with an anchor) may leave the limits out: keep what we learned before.
  const maxPerRequest = cfg.maxNumberOfUpdatesPerRequest > 0
    ? cfg.maxNumberOfUpdatesPerRequest
    : previous?.maxNumberOfUpdatesPerRequest ?? DEFAULT_MAX_PER_REQUEST;
  const languages = mergeLanguageList(ctx.state.languages(), cfg.languages);
  ctx.db.transaction(() => {
    ctx.state.setLanguages(languages);
    ctx.state.setUpstreamConfig({
      catalogOnlySync: cfg.catalogOnlySync,
      lazySync: cfg.lazySync,
      maxNumberOfUpdatesPerRequest: maxPerRequest,
      protocolVersion: cfg.protocolVersion || previous?.protocolVersion || '',
      receivedAt: ctx.clock().toISOString(),
    });
    ctx.state.saveAnchor('config', cfg.newConfigAnchor, ctx.clock());
  }).immediate();
  ctx.maxPerRequest = maxPerRequest;
  ctx.counts.config = {
    languages: languages.filter((l) => l.id !== 0).length, catalogOnlySync: cfg.catalogOnlySync, lazySync: cfg.lazySync,
    maxPerRequest, protocolVersion: cfg.protocolVersion, ms: Math.round(performance.now() - t0),
  };
  ctx.log.info('sync phase finished', { phase: 'config', ...ctx.counts.config });
}
