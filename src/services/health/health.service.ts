import type { ServerConfig } from '../../config/config.js';
import {
  CLIENT_WINDOW_DAYS, FAILURE_EVENT_IDS, catalogAgeStatus, certificateStatus, clientFailureStatus, diskStatus, formatBytes, worst,
  CATALOG_STALE_DAYS, type CheckStatus,
} from '../../core/health/health-rules.js';
import { scheduleIntervalMs } from '../../core/sync/schedule.js';
import { selfUpdateHealth } from '../../http/content-routes.js';
import type { Db } from '../../store/database.js';
import { createHealthStore, type MaintenanceRunRow } from '../../store/health.store.js';
import { createContentRecords } from '../../store/content.store.js';
import { DEFAULT_CONTENT_SIGNATURES, type ContentSignaturesConfig } from '../../config/content-signatures-config.js';
import { createJobLocksStore } from '../../store/job-locks.store.js';
import { createSyncCatalogStore, type ContentHealth } from '../../store/sync-catalog.store.js';
import { createSyncRunsStore } from '../../store/sync-runs.store.js';
import { DEFAULT_STALE_MS, processAlive } from '../jobs/job-lock.js';
import { SYNC_JOB } from '../sync/sync.service.js';
import { systemProbes, type HealthProbes } from './health-probes.js';
import { existsSync } from 'node:fs';
import { signingPaths } from '../signing/publishing-cert.js';

// `wsus health` / GET /api/health: every check an admin (or a monitoring system) needs to
// know whether this server is doing its job. A `red` check makes the server unhealthy (exit 1
// in the CLI, `health.red` webhook); a `warn` is worth a look. Each check adds one line to
// `problems` (red) or `warnings` (warn) and one entry to `checks`.

export interface HealthCheck {
  name: 'sync' | 'catalog' | 'content' | 'signatures' | 'clients' | 'disk' | 'certificates' | 'self-update' | 'maintenance';
  status: CheckStatus;
  summary: string;
}

export interface DiskReport { role: 'data' | 'content'; path: string; freeBytes: number; totalBytes: number; freeShare: number; status: CheckStatus }
const signingOnly = (role: CertificateReport['role']): boolean => role === 'transfer-signing' || role === 'publishing';

/** The publishing certificate, when `wsus signing` made or imported one. */
function publishingCertFile(dataDir: string): string | undefined {
  const file = signingPaths(dataDir).certFile;
  return existsSync(file) ? file : undefined;
}

export interface CertificateReport {
  role: 'tls' | 'admin-tls' | 'transfer-signing' | 'publishing';
  file: string;
  expiresAt: string | null;
  daysLeft: number | null;
  status: CheckStatus;
  error?: string;
}

export interface HealthReport {
  healthy: boolean;
  status: CheckStatus;
  checkedAt: string;
  /** what makes it unhealthy */
  problems: string[];
  /** worth a look, not a failure */
  warnings: string[];
  checks: HealthCheck[];
  catalog: { revisions: number; updates: number; newestIngestedAt: string | null; ageHours: number | null };
  sync: { lastRunState: string | null; lastRunFinishedAt: string | null; lastError: string | null; lastSuccessAt: string | null; intervalHours: number | null };
  content: ContentHealth & { mode: string; quarantinedTotal: number };
  /** Authenticode checks of content: the policy, served files by status, refusals by reason */
  signatures: {
    policy: ContentSignaturesConfig;
    byStatus: Record<string, number>;
    /** served files whose check failed (let through by policy warn); the first few */
    failedServed: number;
    failedExamples: Array<{ sha1Hex: string; status: string; detail: string | null; source: string | null }>;
    refused: Record<string, number>;
  };
  clients: { windowDays: number; events: number; failures: number; failureShare: number | null; clientsReporting: number; clientsFailing: number };
  disk: DiskReport[];
  certificates: CertificateReport[];
  selfUpdate: { installed: boolean; warning: string | null };
  /** null: this database has no maintenance history */
  maintenance: { lastRun: MaintenanceRunRow | null; lastSucceeded: MaintenanceRunRow | null } | null;
}

export type HealthConfig = Pick<ServerConfig, 'sync' | 'dataDir' | 'contentDir' | 'tlsCert' | 'selfUpdateDir'>
  & Partial<Pick<ServerConfig, 'admin' | 'transfer' | 'contentSignatures'>>;

export function readHealth(db: Db, config: HealthConfig, now: Date, probes: HealthProbes = systemProbes): HealthReport {
  const problems: string[] = [];
  const warnings: string[] = [];
  const checks: HealthCheck[] = [];
  const add = (name: HealthCheck['name'], status: CheckStatus, summary: string, lines: Array<[CheckStatus, string]>): void => {
    checks.push({ name, status, summary });
    for (const [s, l] of lines) {
      if (s === 'red') problems.push(l);
      else if (s === 'warn') warnings.push(l);
    }
  };

  // Sync: the last run's result; a run that died holding the lock; overdue against the schedule.
  const runs = createSyncRunsStore(db);
  const last = runs.lastFinished();
  const success = runs.lastSucceeded();
  const syncLines: Array<[CheckStatus, string]> = [];
  if (last?.state === 'failed') {
    syncLines.push(['red', `last sync failed at ${last.finishedAt} during ${last.phase ?? 'start'}: ${last.error ?? 'no error recorded'}`]);
  } else if (last?.state === 'interrupted') {
    // A restart or Ctrl-C: the next run resumes from staging; overdue syncs are caught below.
    syncLines.push(['warn', `last sync was interrupted at ${last.finishedAt} during ${last.phase ?? 'start'}: ${last.error ?? ''}`]);
  }
  // A sync killed mid-run (kill -9, power loss) finishes nothing: only its stale lock tells.
  const holder = createJobLocksStore(db).holder(SYNC_JOB);
  if (holder && !(processAlive(holder.pid) && now.getTime() - Date.parse(holder.heartbeatAt) <= DEFAULT_STALE_MS)) {
    syncLines.push(['red', `a sync (${holder.owner}) stopped without finishing; last sign of life ${holder.heartbeatAt}. ` +
      'The next sync resumes where it stopped (wsus sync run).']);
  }
  const schedule = config.sync.schedule;
  const interval = schedule ? scheduleIntervalMs(schedule) : null;
  if (interval !== null) {
    const lastOk = success?.finishedAt ? Date.parse(success.finishedAt) : null;
    if (lastOk === null) syncLines.push(['red', 'no sync has succeeded yet']);
    else if (now.getTime() - lastOk > 2 * interval) {
      syncLines.push(['red', `no successful sync since ${success!.finishedAt} (scheduled every ${(interval / 3_600_000).toFixed(1)} h)`]);
    }
  }
  add('sync', worst(syncLines.map(([s]) => s)),
    last ? `last run ${last.state} at ${last.finishedAt}, last success ${success?.finishedAt ?? 'never'}` : 'no sync has run', syncLines);

  // Catalog: size and age (nothing new for a month: neither sync nor import brings updates).
  const reads = createSyncCatalogStore(db);
  const figures = reads.catalogFigures();
  const ageHours = figures.newestIngestedAt ? Math.round((now.getTime() - Date.parse(figures.newestIngestedAt)) / 360_000) / 10 : null;
  const catLines: Array<[CheckStatus, string]> = [];
  if (figures.revisions === 0) catLines.push(['warn', 'the catalog is empty']);
  else if (catalogAgeStatus(figures.newestIngestedAt, now) === 'warn') {
    catLines.push(['warn', `nothing was added to the catalog for ${Math.floor(ageHours! / 24)} days (more than ${CATALOG_STALE_DAYS}): is the sync or the import of packages running?`]);
  }
  add('catalog', worst(catLines.map(([s]) => s)), `${figures.revisions} revisions of ${figures.updates} updates`, catLines);

  // Content: files of approved updates present / quarantined / missing; quarantined files overall.
  const health = createHealthStore(db);
  const content = reads.approvedContentHealth();
  const quarantinedTotal = health.quarantinedFiles();
  const contentLines: Array<[CheckStatus, string]> = [];
  if (config.sync.content !== 'none' && content.missing > 0) contentLines.push(['warn', `${content.missing} file(s) of approved updates are not downloaded yet`]);
  if (content.quarantined > 0) contentLines.push(['warn', `${content.quarantined} file(s) of approved updates are quarantined (failed verification)`]);
  else if (quarantinedTotal > 0) contentLines.push(['warn', `${quarantinedTotal} file(s) in the content store are quarantined (failed verification)`]);
  add('content', worst(contentLines.map(([s]) => s)),
    `${content.approvedFiles} files of approved updates, ${content.present} present, ${content.missing} missing, ${content.quarantined} quarantined`, contentLines);

  // Signatures: served files whose Authenticode check failed (policy warn let them through),
  // and files refused for their signature (policy enforce).
  const policy = config.contentSignatures ?? DEFAULT_CONTENT_SIGNATURES;
  const contentRecords = createContentRecords(db);
  const byStatus = contentRecords.signatureCounts();
  const failing = contentRecords.signatureFailures(5);
  const failedServed = Object.entries(byStatus).filter(([k]) => !['ok', 'not-signable', 'unchecked'].includes(k)).reduce((a, [, n]) => a + n, 0);
  const refused = contentRecords.signatureRefusals(0).byStatus;
  const refusedTotal = Object.values(refused).reduce((a, b) => a + b, 0);
  const reasons = (m: Record<string, number>): string => Object.entries(m).map(([k, n]) => `${n} ${k}`).join(', ');
  const sigLines: Array<[CheckStatus, string]> = [];
  if (failedServed > 0) {
    const failedOnly = Object.fromEntries(Object.entries(byStatus).filter(([k]) => !['ok', 'not-signable', 'unchecked'].includes(k)));
    sigLines.push(['warn', `${failedServed} served file(s) failed their signature check (${reasons(failedOnly)}) and are served because the policy is warn `
      + `(e.g. ${failing[0]!.sha1Hex}: ${failing[0]!.signature.status}); trust the publisher (wsus signing trust add) or set contentSignatures to enforce`]);
  }
  if (refusedTotal > 0) sigLines.push(['warn', `${refusedTotal} file(s) were refused for their signature and quarantined (${reasons(refused)}): see wsus content verify`]);
  const policyText = `upstream ${policy.upstream}, import ${policy.import}, published ${policy.published}`;
  add('signatures', worst(sigLines.map(([s]) => s)),
    `policy ${policyText}; ${byStatus.ok ?? 0} verified, ${failedServed} failed but served, ${refusedTotal} refused`, sigLines);

  // Clients: failures among the events they reported in the last week.
  const since = new Date(now.getTime() - CLIENT_WINDOW_DAYS * 86_400_000).toISOString();
  const ev = health.clientEvents(since, FAILURE_EVENT_IDS);
  const share = ev.events ? ev.failures / ev.events : null;
  const clientStatus = clientFailureStatus(ev.events, ev.failures);
  const pct = share === null ? '-' : `${(share * 100).toFixed(1)}%`;
  add('clients', clientStatus, `${ev.events} events from ${ev.clientsReporting} clients in ${CLIENT_WINDOW_DAYS} days, ${pct} failures`,
    clientStatus === 'ok' ? [] : [[clientStatus, `${pct} of client events in the last ${CLIENT_WINDOW_DAYS} days report failures (${ev.failures} of ${ev.events}, from ${ev.clientsFailing} of ${ev.clientsReporting} clients)`]]);

  // Disk: the data directory (database) and the content store, once per volume.
  const disk: DiskReport[] = [];
  const diskLines: Array<[CheckStatus, string]> = [];
  const seenDevices = new Set<number>();
  for (const [role, path] of [['data', config.dataDir], ['content', config.contentDir]] as const) {
    let d;
    try {
      d = probes.disk(path);
    } catch (e) {
      diskLines.push(['warn', `free space of ${path} cannot be read: ${(e as Error).message}`]);
      continue;
    }
    if (d.device !== null && seenDevices.has(d.device)) continue;
    if (d.device !== null) seenDevices.add(d.device);
    const status = diskStatus(d.freeBytes, d.totalBytes);
    const freeShare = d.totalBytes ? d.freeBytes / d.totalBytes : 0;
    disk.push({ role, path, freeBytes: d.freeBytes, totalBytes: d.totalBytes, freeShare, status });
    if (status !== 'ok') diskLines.push([status, `${role} directory ${path}: ${formatBytes(d.freeBytes)} free of ${formatBytes(d.totalBytes)} (${(freeShare * 100).toFixed(1)}%)`]);
  }
  add('disk', worst(disk.map((d) => d.status).concat(diskLines.map(([s]) => s))),
    disk.map((d) => `${d.role} ${formatBytes(d.freeBytes)} free (${(d.freeShare * 100).toFixed(0)}%)`).join(', ') || 'unknown', diskLines);

  // Certificates: client TLS and admin TLS (red once expired), the export signing certificate.
  const certificates: CertificateReport[] = [];
  const certLines: Array<[CheckStatus, string]> = [];
  const certFiles: Array<[CertificateReport['role'], string | null | undefined, string]> = [
    ['tls', config.tlsCert, 'TLS certificate'],
    ['admin-tls', config.admin?.tlsCert, 'admin API TLS certificate'],
    ['transfer-signing', config.transfer?.signingCert, 'export signing certificate'],
    ['publishing', publishingCertFile(config.dataDir), 'publishing certificate (wsus signing)'],
  ];
  for (const [role, file, label] of certFiles) {
    if (!file) continue;
    try {
      const validTo = probes.certificateValidTo(file);
      const c = certificateStatus(validTo, now);
      // An expired signing certificate stops exports or publishing, not the server.
      const status: CheckStatus = signingOnly(role) && c.status === 'red' ? 'warn' : c.status;
      certificates.push({ role, file, expiresAt: validTo.toISOString(), daysLeft: c.daysLeft, status });
      if (c.status === 'red') certLines.push([status, `the ${label} ${file} expired on ${validTo.toISOString()}`]);
      else if (c.status === 'warn') certLines.push(['warn', `the ${label} ${file} expires in ${c.daysLeft} day(s), on ${validTo.toISOString()}`]);
    } catch (e) {
      const status: CheckStatus = signingOnly(role) ? 'warn' : 'red';
      certificates.push({ role, file, expiresAt: null, daysLeft: null, status, error: (e as Error).message });
      certLines.push([status, `the ${label} ${file} cannot be read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`]);
    }
  }
  add('certificates', worst(certificates.map((c) => c.status)),
    certificates.map((c) => `${c.role} ${c.daysLeft === null ? 'unreadable' : `${c.daysLeft} days left`}`).join(', ') || 'none configured', certLines);

  // Self-update tree: older clients stop talking to a server without it.
  const selfUpdateWarning = selfUpdateHealth(config.selfUpdateDir);
  add('self-update', selfUpdateWarning ? 'warn' : 'ok', selfUpdateWarning ? 'not installed' : 'installed',
    selfUpdateWarning ? [['warn', selfUpdateWarning]] : []);

  // Maintenance: the last cleanup/rules run, when this database keeps their history.
  const maintenance = health.lastMaintenanceRun();
  if (maintenance) {
    const l = maintenance.lastRun;
    const lines: Array<[CheckStatus, string]> = l && l.state === 'failed'
      ? [['warn', `the last maintenance run (${l.job}) failed at ${l.finishedAt}${l.error ? `: ${l.error}` : ''}`]] : [];
    add('maintenance', worst(lines.map(([s]) => s)),
      l ? `last run ${l.job} ${l.state} at ${l.finishedAt}` : 'no maintenance run yet', lines);
  }

  const status = worst(checks.map((c) => c.status));
  return {
    healthy: problems.length === 0,
    status,
    checkedAt: now.toISOString(),
    problems,
    warnings,
    checks,
    catalog: { ...figures, ageHours },
    sync: {
      lastRunState: last?.state ?? null, lastRunFinishedAt: last?.finishedAt ?? null, lastError: last?.error ?? null,
      lastSuccessAt: success?.finishedAt ?? null, intervalHours: interval === null ? null : interval / 3_600_000,
    },
    content: { ...content, mode: config.sync.content, quarantinedTotal },
    signatures: {
      policy, byStatus, failedServed, refused,
      failedExamples: failing.map((r) => ({ sha1Hex: r.sha1Hex, status: r.signature.status, detail: r.signature.detail, source: r.signature.source })),
    },
    clients: { windowDays: CLIENT_WINDOW_DAYS, events: ev.events, failures: ev.failures, failureShare: share, clientsReporting: ev.clientsReporting, clientsFailing: ev.clientsFailing },
    disk,
    certificates,
    selfUpdate: { installed: selfUpdateWarning === null, warning: selfUpdateWarning },
    maintenance,
  };
}
