import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  applyStatusEvent, cellsFromBuffer, cellsToBuffer, packCells, readStatusLists, stateIn, statusKindOf, unpackCells,
  type ComputerCells, type StatusLists,
} from '../src/core/reporting/status-rules.js';
import { UpdateState as S } from '../src/core/reporting/update-state.js';

// The status rules (contract: src/core/reporting/status-rules.ts): what each reporting event
// does to one computer's cells, as REAL-CLIENTS.md "Reporting" describes real WSUS.

const A = 'a2fef9b0-7951-4c2c-a42b-9e351dd1c1fe';
const B = '0daf8592-9e3f-4a8a-9141-d83fafebd09f';
const fresh = (): ComputerCells => ({ statusAt: null, cells: new Map(), failures: new Map() });
const lists = (l: Partial<StatusLists<number>>): StatusLists<number> => ({ installable: [], installed: [], pendingReboot: [], failed: [], downloaded: [], ...l });
const cells = (c: ComputerCells): Array<[number, number]> => [...c.cells].sort((x, y) => x[0] - y[0]);

test('readStatusLists: the U/V/W/g/h lists, upper-case ids as clients send them, junk skipped; null without any list', () => {
  const l = readStatusLists(['G=1507.2601.30012.0', `U=${A.toUpperCase()};${B.toUpperCase()}`, 'V=', `W=${B}`, 'g=not-a-guid;', `h=${A}`, 'UU=x'])!;
  assert.deepEqual(l, { installable: [A, B], installed: [], pendingReboot: [B], failed: [], downloaded: [A] });
  assert.equal(readStatusLists(['B=3', 'C=3', 'AppName=x']), null);
  assert.deepEqual(readStatusLists(['U=']), { installable: [], installed: [], pendingReboot: [], failed: [], downloaded: [] });
});

test('readStatusLists keeps up to maxIds ids (a real machine lists hundreds of installed updates)', () => {
  const ids = Array.from({ length: 1500 }, (_, i) => `00000000-0000-0000-0000-${String(i).padStart(12, '0')}`);
  assert.equal(readStatusLists([`V=${ids.join(';')}`])!.installed.length, 1500);
  assert.equal(readStatusLists([`V=${ids.join(';')}`], 1000)!.installed.length, 1000);
});

test('statusKindOf: 156 status, 162 downloaded, 182 failed, 183 installed (D=1 too), 184 and 201 with D=1 pending reboot, 202 rebooted', () => {
  assert.equal(statusKindOf(156, []), 'status');
  assert.equal(statusKindOf(162, []), 'downloaded');
  assert.equal(statusKindOf(182, []), 'failed');
  assert.equal(statusKindOf(183, ['D=1']), 'installed', 'a Defender definition update reports 183 with D=1 and needs no reboot');
  assert.equal(statusKindOf(184, []), 'pending-reboot');
  assert.equal(statusKindOf(201, ['D=1']), 'pending-reboot');
  assert.equal(statusKindOf(201, []), null);
  assert.equal(statusKindOf(202, []), 'rebooted');
  for (const id of [147, 148, 167, 181]) assert.equal(statusKindOf(id, []), null, String(id));
});

test('a status list is the whole truth: listed updates get their state, the rest of the computer becomes not applicable', () => {
  const c = fresh();
  assert.equal(applyStatusEvent(c, { kind: 'status', at: 1000, lists: lists({ installable: [1, 2], installed: [3], pendingReboot: [4], failed: [5], downloaded: [6] }) }), true);
  assert.deepEqual(cells(c), [[1, S.NotInstalled], [2, S.NotInstalled], [3, S.Installed], [4, S.InstalledPendingReboot], [5, S.Failed], [6, S.Downloaded]]);
  assert.equal(c.statusAt, 1000);
  assert.deepEqual(c.failures.get(5), { hresult: 0, at: 1000 });
  assert.equal(applyStatusEvent(c, { kind: 'status', at: 2000, lists: lists({ installed: [1] }) }), true);
  assert.deepEqual(cells(c), [[1, S.Installed]]);
  assert.equal(c.failures.size, 0);
  assert.equal(applyStatusEvent(c, { kind: 'status', at: 2000, lists: lists({ installed: [1] }) }), false, 'the same list again changes nothing');
  assert.equal(applyStatusEvent(c, { kind: 'status', at: 3000, lists: lists({}) }), true, 'an empty list: nothing applicable');
  assert.deepEqual(cells(c), []);
});

test('an older status list is ignored (a late or replayed batch never rolls a computer back)', () => {
  const c = fresh();
  applyStatusEvent(c, { kind: 'status', at: 2000, lists: lists({ installed: [1] }) });
  assert.equal(applyStatusEvent(c, { kind: 'status', at: 1000, lists: lists({ installable: [1, 2] }) }), false);
  assert.deepEqual(cells(c), [[1, S.Installed]]);
  assert.equal(c.statusAt, 2000);
});

test('the install sequence: downloaded, installed, failed with its HRESULT, pending reboot, rebooted', () => {
  const c = fresh();
  applyStatusEvent(c, { kind: 'status', at: 1000, lists: lists({ installable: [1, 2, 3] }) });
  assert.equal(applyStatusEvent(c, { kind: 'downloaded', at: 1000, updatePk: 1 }), true, 'same time as the list (one batch)');
  assert.equal(applyStatusEvent(c, { kind: 'installed', at: 1100, updatePk: 1 }), true);
  assert.equal(applyStatusEvent(c, { kind: 'failed', at: 1100, updatePk: 2, hresult: -2145099769 }), true);
  assert.equal(applyStatusEvent(c, { kind: 'pending-reboot', at: 1100, updatePk: 3 }), true);
  assert.deepEqual(cells(c), [[1, S.Installed], [2, S.Failed], [3, S.InstalledPendingReboot]]);
  assert.deepEqual(c.failures.get(2), { hresult: -2145099769, at: 1100 });
  assert.equal(applyStatusEvent(c, { kind: 'rebooted', at: 1200, updatePk: 1 }), false, 'a reboot only completes pending installs');
  assert.equal(applyStatusEvent(c, { kind: 'rebooted', at: 1200, updatePk: 3 }), true);
  assert.equal(c.cells.get(3), S.Installed);
  assert.equal(applyStatusEvent(c, { kind: 'downloaded', at: 1300, updatePk: 1 }), false, 'a download never demotes an installed update');
  assert.equal(applyStatusEvent(c, { kind: 'installed', at: 1300, updatePk: 2 }), true);
  assert.equal(c.failures.has(2), false, 'installing clears the failure');
});

test('a failed or downloaded update stays so while the next scans still list it as installable', () => {
  const c = fresh();
  applyStatusEvent(c, { kind: 'status', at: 1000, lists: lists({ installable: [1, 2] }) });
  applyStatusEvent(c, { kind: 'failed', at: 1100, updatePk: 1, hresult: 7 });
  applyStatusEvent(c, { kind: 'downloaded', at: 1100, updatePk: 2 });
  applyStatusEvent(c, { kind: 'status', at: 2000, lists: lists({ installable: [1, 2] }) });
  assert.deepEqual(cells(c), [[1, S.Failed], [2, S.Downloaded]]);
  assert.deepEqual(c.failures.get(1), { hresult: 7, at: 1100 });
});

test('single events older than the last status list only add failure detail', () => {
  const c = fresh();
  applyStatusEvent(c, { kind: 'status', at: 2000, lists: lists({ installable: [1], installed: [2], failed: [3] }) });
  assert.equal(applyStatusEvent(c, { kind: 'installed', at: 1000, updatePk: 1 }), false);
  assert.equal(applyStatusEvent(c, { kind: 'failed', at: 1000, updatePk: 2, hresult: 5 }), false, 'the newer scan says installed');
  assert.equal(applyStatusEvent(c, { kind: 'failed', at: 1000, updatePk: 3, hresult: 5 }), true, 'the HRESULT of a failure the list names');
  assert.deepEqual(c.failures.get(3), { hresult: 5, at: 1000 });
  assert.equal(applyStatusEvent(c, { kind: 'failed', at: 900, updatePk: 3, hresult: 6 }), false, 'an even older failure does not replace it');
});

test('events before any status list still count (a computer that has not sent its first scan result yet)', () => {
  const c = fresh();
  assert.equal(applyStatusEvent(c, { kind: 'failed', at: 1000, updatePk: 9, hresult: 1 }), true);
  assert.equal(c.statusAt, null);
  assert.equal(c.cells.get(9), S.Failed);
});

test('packed cells: round trip, buffer form, binary search', () => {
  const m = new Map<number, S>([[70_000, S.Failed], [1, S.Installed], [12, S.NotInstalled], [5, S.InstalledPendingReboot]]);
  const packed = packCells(m);
  assert.deepEqual([...packed], [1 * 8 + 4, 5 * 8 + 6, 12 * 8 + 2, 70_000 * 8 + 5]);
  assert.deepEqual(unpackCells(packed), m);
  const buf = cellsToBuffer(packed);
  assert.equal(buf.length, 16);
  assert.deepEqual([...cellsFromBuffer(buf)], [...packed]);
  assert.equal(stateIn(packed, 12), S.NotInstalled);
  assert.equal(stateIn(packed, 70_000), S.Failed);
  assert.equal(stateIn(packed, 13), undefined);
  assert.equal(stateIn(new Uint32Array(), 1), undefined);
});
