import { randomUUID } from 'node:crypto';
import type { Db } from '../../src/store/database.js';
import { createTargetingStore } from '../../src/store/targeting.store.js';
import { createUpdateStatusStore } from '../../src/store/update-status.store.js';
import { nextCounter } from '../../src/store/server-identity.store.js';
import { packCells } from '../../src/core/reporting/status-rules.js';
import { UpdateState } from '../../src/core/reporting/update-state.js';

// A small fleet with known answers for the report tests, written as the ingest stores it
// (computer rows, packed status cells, failure rows, a few events), on a database that already
// holds a generated catalog. Times are relative to `now`:
//
//   updates  u[0..4] reportable, arrived 120 days ago, except u[4]: 60 days ago;
//            declined: a reportable update declined; member: a bundle member (not reportable)
//   groups   Ring0 (under All Computers), Ring1 (under Ring0)
//   pc-a  Ring0       status 90 d ago: u0 needed, u1 installed, u2 failed 0x80246007, declined needed, member needed; scans daily
//   pc-b  Ring1       status 30 d ago: u0 installed, u4 pending reboot; last contact 30 d ago
//   pc-c  unassigned  never sent status; registered 200 d ago, scans daily
//   pc-d  unassigned  status 70 d ago (before u4 arrived): u1 downloaded; one client id seen with two names (cloned)
//   pc-e  Ring1       status 1 d ago: u0 installed; scans daily

export const DAY = 86_400_000;
export const HRESULT = 0x80246007 | 0;

export interface SeededFleet {
  u: string[];
  upk: number[];
  declined: string;
  member: string;
  ids: Record<'a' | 'b' | 'c' | 'd' | 'e', string>;
  /** all reportable updates not declined */
  live: number;
  failedAt: string;
}

export function seedReportFleet(db: Db, now: Date): SeededFleet {
  const ago = (days: number): string => new Date(now.getTime() - days * DAY).toISOString();
  const targeting = createTargetingStore(db);
  targeting.ensureBuiltinGroups(now);
  const reportable = db.prepare(`SELECT s.update_pk AS pk, s.update_id AS id FROM update_summary s JOIN updates u ON u.id = s.update_pk
    WHERE s.update_type IN ('Software', 'Driver') AND s.explicitly_deployable = 1 AND u.declined = 0 ORDER BY s.update_pk`).all() as Array<{ pk: number; id: string }>;
  const member = db.prepare(`SELECT update_pk AS pk, update_id AS id FROM update_summary WHERE explicitly_deployable = 0 AND update_type = 'Software' LIMIT 1`)
    .get() as { pk: number; id: string };
  const [u0, u1, u2, u3, u4, d] = reportable;
  if (!d || !member) throw new Error('catalog too small for the report fleet');
  db.transaction(() => {
    db.prepare('UPDATE update_summary SET arrived_at = ?').run(ago(120));
    db.prepare('UPDATE update_summary SET arrived_at = ? WHERE update_pk = ?').run(ago(60), u4!.pk);
    nextCounter(db, 'change_seq');
  })();
  targeting.setDeclined(d.id, true, now);
  targeting.createGroup('Ring0', undefined, now);
  targeting.createGroup('Ring1', 'Ring0', now);
  const ring0 = targeting.groupIdByName('Ring0')!;
  const ring1 = targeting.groupIdByName('Ring1')!;

  const ids = { a: randomUUID(), b: randomUUID(), c: randomUUID(), d: randomUUID(), e: randomUUID() };
  const insert = db.prepare(`INSERT INTO computers (client_id, dns_name, assigned_group_id, os_major, os_minor, os_build, os_description,
    manufacturer, model, processor_architecture, registered_at, last_sync_at, last_report_at, last_address)
    VALUES (?, ?, ?, 10, 0, 26100, 'Windows 11 Pro', 'QEMU', 'Standard PC', 'AMD64', ?, ?, ?, ?)`);
  const sighting = db.prepare('INSERT INTO computer_sightings (client_id, dns_name, address, first_seen_at, last_seen_at) VALUES (?, ?, ?, ?, ?)');
  const rows: Array<[keyof typeof ids, string | null, string, string, string | null]> = [
    ['a', ring0, ago(200), ago(1), ago(90)],
    ['b', ring1, ago(200), ago(30), ago(30)],
    ['c', null, ago(200), ago(1), null],
    ['d', null, ago(200), ago(1), ago(70)],
    ['e', ring1, ago(200), ago(1), ago(1)],
  ];
  const status = createUpdateStatusStore(db);
  const failedAt = ago(89);
  db.transaction(() => {
    rows.forEach(([k, group, registered, sync, report], n) => {
      insert.run(ids[k], `pc-${k}.corp.test`, group, registered, sync, report, `10.0.0.${n + 1}`);
      sighting.run(ids[k], `pc-${k}.corp.test`, `10.0.0.${n + 1}`, registered, sync);
    });
    sighting.run(ids.d, 'clone-of-d.corp.test', '10.0.9.9', ago(50), ago(2));
    const seq = status.nextSeq();
    const S = UpdateState;
    status.put(ids.a, ago(90), packCells(new Map([[u0!.pk, S.NotInstalled], [u1!.pk, S.Installed], [u2!.pk, S.Failed], [d.pk, S.NotInstalled], [member.pk, S.NotInstalled]])), seq, ago(90));
    status.setFailure(ids.a, u2!.pk, HRESULT, failedAt);
    status.put(ids.b, ago(30), packCells(new Map([[u0!.pk, S.Installed], [u4!.pk, S.InstalledPendingReboot]])), seq, ago(30));
    status.put(ids.d, ago(70), packCells(new Map([[u1!.pk, S.Downloaded]])), seq, ago(70));
    status.put(ids.e, ago(1), packCells(new Map([[u0!.pk, S.Installed]])), seq, ago(1));
    const event = db.prepare(`INSERT INTO events (event_instance_id, client_id, event_id, namespace_id, source_id, update_id, revision_number,
      time_at_target, win32_hresult, app_name, replacement_strings, misc_data, received_at) VALUES (?, ?, ?, 1, 101, ?, 200, ?, ?, 'AutomaticUpdates', '[]', ?, ?)`);
    event.run(randomUUID(), ids.a, 156, '00000000-0000-0000-0000-000000000000', ago(90), 0, JSON.stringify([`U=${u0!.id.toUpperCase()}`, `V=${u1!.id.toUpperCase()}`]), ago(90));
    event.run(randomUUID(), ids.a, 182, u2!.id, failedAt, HRESULT, '[]', failedAt);
  })();
  return {
    u: [u0!.id, u1!.id, u2!.id, u3!.id, u4!.id], upk: [u0!.pk, u1!.pk, u2!.pk, u3!.pk, u4!.pk], declined: d.id, member: member.id, ids,
    live: reportable.length - 1, failedAt,
  };
}
