import { DomainError } from '../../core/errors.js';
import {
  describeCriteria, validateApprovalCriteria, validateDeclineCondition, validateRuleName,
  type ApprovalCriteria, type DeclineCondition, type MaintenanceRule, type RuleKind,
} from '../../core/maintenance/rule-model.js';
import type { Db } from '../../store/database.js';
import { createMaintenanceRulesStore } from '../../store/maintenance-rules.store.js';
import { createSyncCatalogStore } from '../../store/sync-catalog.store.js';
import type { TargetingStore } from '../../store/targeting.store.js';
import type { ServerConfig } from '../../config/config.js';
import { assertLocalChangesAllowed } from '../sync/replica-guard.js';
import { PRODUCT_CATEGORY_TYPES } from '../sync/updates-phase.js';

// Creating, changing and listing automatic rules: what admins type (classification and
// product titles or GUIDs, group names) is resolved to ids here, once, so a rule keeps working
// when a group is renamed. A replica takes approvals and declines from its upstream: rules
// are refused there (listing and removing stay possible).

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A rule as the API shows it: ids with their names, and one line saying what it does. */
export interface RuleView {
  id: number;
  kind: RuleKind;
  name: string;
  enabled: boolean;
  criteria: ApprovalCriteria | DeclineCondition;
  /** names of the classification, product and group ids in `criteria` */
  names: Record<string, string>;
  description: string;
  createdAt: string;
  updatedAt: string;
}

export interface RuleChange {
  rule: RuleView;
  warnings: string[];
}

type Body = Record<string, unknown>;

const missing = (what: string, hint: string): DomainError => new DomainError('NotFound', what, `${what} not found (${hint})`);

function stringList(v: unknown, field: string): string[] | undefined {
  if (v === undefined || v === null) return undefined;
  const list = typeof v === 'string' ? [v] : v;
  if (!Array.isArray(list) || list.some((x) => typeof x !== 'string' || !x.trim())) {
    throw new DomainError('InvalidInput', field, `${field} must be a list of names or GUIDs`);
  }
  return (list as string[]).map((x) => x.trim());
}

export function createRulesAdmin(deps: { db: Db; config: Pick<ServerConfig, 'sync'>; targeting: TargetingStore; clock: () => Date }) {
  const store = createMaintenanceRulesStore(deps.db);
  const reads = createSyncCatalogStore(deps.db);

  function resolveCategories(kind: 'classification' | 'product', refs: readonly string[], warnings: string[]): string[] {
    const rows = reads.categories().filter((r) => (kind === 'classification' ? r.categoryType === 'UpdateClassification' : PRODUCT_CATEGORY_TYPES.has(r.categoryType)));
    return refs.map((ref) => {
      if (GUID.test(ref)) {
        const id = ref.toLowerCase();
        if (!rows.some((r) => r.updateId === id)) warnings.push(`${kind} ${id} is not in the catalog (yet): the rule matches it once synchronized`);
        return id;
      }
      const hits = rows.filter((r) => r.title.toLowerCase() === ref.toLowerCase());
      if (!hits.length) throw missing(`${kind} "${ref}"`, `wsus ${kind === 'product' ? 'products' : 'classifications'} list --all shows the synchronized ones`);
      if (hits.length > 1) throw new DomainError('Conflict', kind, `"${ref}" names ${hits.length} ${kind} categories: ${hits.map((h) => h.updateId).join(', ')}; use the GUID`);
      return hits[0]!.updateId;
    });
  }

  function resolveGroups(refs: readonly string[]): string[] {
    const groups = deps.targeting.groups();
    return refs.map((ref) => {
      const g = GUID.test(ref) ? groups.find((x) => x.id === ref.toLowerCase()) : groups.find((x) => x.name.toLowerCase() === ref.toLowerCase());
      if (!g) throw missing(`group "${ref}"`, 'wsus groups list shows them');
      return g.id;
    });
  }

  /** Approval criteria from a body whose lists hold names or GUIDs; `base` fills what the body leaves out. */
  function approvalCriteria(body: Body, base: ApprovalCriteria | null, warnings: string[]): ApprovalCriteria {
    const classifications = stringList(body.classifications, 'classifications');
    const products = stringList(body.products, 'products');
    const groups = stringList(body.groups, 'groups');
    return validateApprovalCriteria({
      classifications: classifications ? resolveCategories('classification', classifications, warnings) : base?.classifications,
      products: products ? resolveCategories('product', products, warnings) : base?.products,
      title: body.title !== undefined ? body.title : base?.title,
      groups: groups ? resolveGroups(groups) : base?.groups,
      action: body.action ?? base?.action,
      deadlineDays: body.deadlineDays !== undefined ? body.deadlineDays : base?.deadlineDays,
    });
  }

  function declineCondition(body: Body, base: DeclineCondition | null): DeclineCondition {
    const merged: Body = { ...(base ?? {}) };
    for (const k of ['condition', 'days', 'pattern', 'architecture']) if (body[k] !== undefined) merged[k] = body[k];
    return validateDeclineCondition(merged);
  }

  function view(rule: MaintenanceRule): RuleView {
    const names: Record<string, string> = {};
    if (rule.kind === 'approval') {
      const cats = new Map(reads.categories().map((c) => [c.updateId, c.title]));
      const groups = new Map(deps.targeting.groups().map((g) => [g.id, g.name]));
      for (const id of [...rule.criteria.classifications, ...rule.criteria.products]) names[id] = cats.get(id) ?? id;
      for (const id of rule.criteria.groups) names[id] = groups.get(id) ?? `${id} (deleted group)`;
    }
    return {
      id: rule.id, kind: rule.kind, name: rule.name, enabled: rule.enabled, criteria: rule.criteria, names,
      description: describeCriteria(rule, (id) => names[id] ?? id), createdAt: rule.createdAt, updatedAt: rule.updatedAt,
    };
  }

  return {
    store,
    list(): RuleView[] {
      return store.list().map(view);
    },
    get(ref: string | number): RuleView {
      return view(store.get(ref));
    },
    view,
    create(body: Body): RuleChange {
      assertLocalChangesAllowed(deps.config);
      const kind = body.kind;
      if (kind !== 'approval' && kind !== 'decline') throw new DomainError('InvalidInput', 'kind', 'kind must be "approval" or "decline"');
      const name = validateRuleName(body.name);
      if (body.enabled !== undefined && typeof body.enabled !== 'boolean') throw new DomainError('InvalidInput', 'enabled', 'enabled must be true or false');
      const warnings: string[] = [];
      const criteria = kind === 'approval' ? approvalCriteria(body, null, warnings) : declineCondition(body, null);
      const rule = store.create({ kind, name, enabled: body.enabled !== false, criteria }, deps.clock());
      return { rule: view(rule), warnings };
    },
    update(ref: string, body: Body): RuleChange {
      const cur = store.get(ref);
      // Disabling is always allowed (a replica's admin may want an inherited database quiet).
      if (!(Object.keys(body).length === 1 && body.enabled === false)) assertLocalChangesAllowed(deps.config);
      if (body.kind !== undefined && body.kind !== cur.kind) throw new DomainError('InvalidInput', 'kind', 'the kind of a rule cannot change: remove it and add a new one');
      if (body.enabled !== undefined && typeof body.enabled !== 'boolean') throw new DomainError('InvalidInput', 'enabled', 'enabled must be true or false');
      const warnings: string[] = [];
      const touchesCriteria = ['classifications', 'products', 'title', 'groups', 'action', 'deadlineDays', 'condition', 'days', 'pattern', 'architecture']
        .some((k) => body[k] !== undefined);
      const criteria = !touchesCriteria ? undefined
        : cur.kind === 'approval' ? approvalCriteria(body, cur.criteria, warnings) : declineCondition(body, cur.criteria);
      const rule = store.update(cur.id, {
        ...(body.name !== undefined ? { name: validateRuleName(body.name) } : {}),
        ...(typeof body.enabled === 'boolean' ? { enabled: body.enabled } : {}),
        ...(criteria ? { criteria } : {}),
      }, deps.clock());
      return { rule: view(rule), warnings };
    },
    remove(ref: string): RuleView {
      return view(store.remove(ref));
    },
  };
}

export type RulesAdmin = ReturnType<typeof createRulesAdmin>;
