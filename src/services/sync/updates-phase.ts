import { categoriesFilter, planUpdatesFilter } from '../../core/sync/selection-filter.js';
import { emptyPhaseCounts, runMetadataPhase } from './metadata-phase.js';
import type { RunContext } from './run-context.js';

// The two metadata phases: categories (GetConfig=true) and updates (the selection filter,
// see selection-filter.ts for how an empty selection is read).

export const PRODUCT_CATEGORY_TYPES: ReadonlySet<string> = new Set(['Company', 'ProductFamily', 'Product']);

export async function runCategoriesPhase(ctx: RunContext): Promise<void> {
  const counts = (ctx.counts.categories = emptyPhaseCounts());
  await runMetadataPhase(ctx, 'categories', categoriesFilter(ctx.state.anchor('categories')), counts);
}

export async function runUpdatesPhase(ctx: RunContext): Promise<void> {
  const offered = { products: [] as string[], classifications: [] as string[] };
  for (const c of ctx.catalogReads.categories()) {
    if (c.categoryType === 'UpdateClassification') offered.classifications.push(c.updateId);
    else if (PRODUCT_CATEGORY_TYPES.has(c.categoryType)) offered.products.push(c.updateId);
  }
  const plan = planUpdatesFilter({
    selected: {
      products: ctx.store.selection('product'),
      classifications: ctx.store.selection('classification'),
      languages: ctx.store.selection('language'),
    },
    offered,
    isMicrosoftUpdate: ctx.isMicrosoftUpdate,
    lastSynced: ctx.state.syncedSelection(),
    languageList: ctx.state.languages(),
    anchor: ctx.state.anchor('updates'),
  });
  for (const n of plan.notes) ctx.note(n);
  if (plan.kind === 'skip') {
    ctx.note(`updates phase skipped: ${plan.reason}`);
    return;
  }
  const counts = (ctx.counts.updates = {
    ...emptyPhaseCounts(),
    products: plan.effective.products.length,
    classifications: plan.effective.classifications.length,
    languages: plan.effective.languages.length,
  });
  // The effective selection is saved with the anchor: the next run sends Delta=false only for what is new.
  await runMetadataPhase(ctx, 'updates', plan.filter, counts, () => ctx.state.setSyncedSelection(plan.effective));
}
