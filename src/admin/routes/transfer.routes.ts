import { rm } from 'node:fs/promises';
import type { AdminRouter } from '../admin-router.types.js';
import type { AdminDeps } from '../admin-deps.js';
import { attachment, progress } from '../admin-results.js';
import { DomainError } from '../../core/errors.js';
import type { ContentScope } from '../../core/transfer/transfer-manifest.js';
import { createExportService, parseSince } from '../../services/transfer/export.service.js';
import { createImportPackageService } from '../../services/transfer/import-package.service.js';
import { receivePackage } from '../../services/transfer/package-upload.js';

// Export / import for disconnected networks. GET /api/export streams a signed package
// (admins only: it carries every approval and is signed with this server's key);
// POST /api/import receives one (application/octet-stream), verifies it completely, then
// applies it with NDJSON progress. `?dryRun=true` verifies and reports what it would change.

function bool(q: URLSearchParams, name: string): boolean {
  const v = q.get(name);
  if (v === null || v === '' || v === 'false') return false;
  if (v === 'true') return true;
  throw new DomainError('InvalidInput', name, `${name} must be true or false`);
}

function contentScope(q: URLSearchParams): ContentScope {
  const v = q.get('content') ?? 'none';
  if (v !== 'none' && v !== 'approved' && v !== 'all') throw new DomainError('InvalidInput', 'content', 'content must be none, approved or all');
  return v;
}

export function registerTransferRoutes(router: AdminRouter, deps: AdminDeps): void {
  const exporter = createExportService({ db: deps.db, config: deps.config, serverId: deps.serverId, content: deps.content, clock: deps.clock, log: deps.log });
  const importer = createImportPackageService({
    db: deps.db, config: deps.config, catalog: deps.catalog, targeting: deps.targeting, content: deps.content,
    log: deps.log, clock: deps.clock, onChanged: () => deps.views.invalidate(),
  });

  router.read('/api/export', (req) => {
    if (req.actor.role !== 'admin') throw new DomainError('Forbidden', 'transfer.export', `the token "${req.actor.name}" is a reporter token: exports need an admin token`);
    const pkg = exporter.exportPackage({
      since: parseSince(req.query.get('since')),
      approvals: bool(req.query, 'approvals'),
      content: contentScope(req.query),
    });
    deps.log.info('export started', { who: req.actor.name, address: req.actor.address, ...pkg.summary });
    return attachment(pkg.fileName, pkg.body, 'application/x-tar');
  });

  router.upload('/api/import', 'transfer.import', async (req, body) => {
    const dryRun = bool(req.query, 'dryRun');
    const file = await receivePackage(body, deps.config.dataDir, deps.config.transfer.maxPackageBytes, req.signal);
    return progress(async (report) => {
      try {
        return await importer.importPackage(file, { dryRun, signal: req.signal, onProgress: (p) => report(p) });
      } finally {
        await rm(file, { force: true });
      }
    });
  });
}
