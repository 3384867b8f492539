import type { AdminRouter } from '../admin-router.types.js';
import type { AdminDeps } from '../admin-deps.js';
import { progress } from '../admin-results.js';
import { DomainError } from '../../core/errors.js';
import { maintenanceOf } from './maintenance-of.js';

// Automatic approval and decline rules: `wsus rules list|add|remove|enable|disable|run`.
// A rule is named by its id or its name. Runs stream progress; a dry run changes nothing and
// lists what would be approved and declined.

function ruleRefs(raw: unknown, resolve: (ref: string) => number): number[] | undefined {
  if (raw === undefined || raw === null) return undefined;
  const list = Array.isArray(raw) ? raw : [raw];
  if (list.some((x) => (typeof x !== 'string' || !x.trim()) && typeof x !== 'number')) {
    throw new DomainError('InvalidInput', 'rules', 'rules must be a list of rule ids or names');
  }
  return list.map((x) => resolve(String(x)));
}

export function registerRulesRoutes(router: AdminRouter, deps: AdminDeps): void {
  const m = () => maintenanceOf(deps);

  router.read('/api/rules', () => ({ rules: m().rules.list() }));
  router.read('/api/rules/:id', (req) => m().rules.get(req.params.id ?? ''));
  router.change('POST', '/api/rules', 'rules.create', (req) => {
    const r = m().rules.create(req.body);
    deps.log.info('rule created', { id: r.rule.id, name: r.rule.name, kind: r.rule.kind, by: req.actor.name });
    return r;
  });
  router.change('PATCH', '/api/rules/:id', 'rules.update', (req) => {
    const r = m().rules.update(req.params.id ?? '', req.body);
    deps.log.info('rule changed', { id: r.rule.id, name: r.rule.name, enabled: r.rule.enabled, by: req.actor.name });
    return r;
  });
  router.change('DELETE', '/api/rules/:id', 'rules.delete', (req) => {
    const r = m().rules.remove(req.params.id ?? '');
    deps.log.info('rule removed', { id: r.id, name: r.name, by: req.actor.name });
    return r;
  });
  router.change('POST', '/api/rules/run', 'rules.run', (req) => {
    const { dryRun, kind } = req.body;
    if (dryRun !== undefined && typeof dryRun !== 'boolean') throw new DomainError('InvalidInput', 'dryRun', 'dryRun must be true or false');
    if (kind !== undefined && kind !== 'approval' && kind !== 'decline') throw new DomainError('InvalidInput', 'kind', 'kind must be "approval" or "decline"');
    const ruleIds = ruleRefs(req.body.rules, (ref) => m().rules.get(ref).id);
    return progress((report) => m().jobs.run('rules', {
      trigger: 'admin', dryRun: dryRun === true, scope: 'all', actor: req.actor.name, signal: req.signal, onProgress: report,
      ...(ruleIds ? { ruleIds } : {}), ...(kind ? { kinds: [kind] } : {}),
    }));
  });
}
