import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DomainError } from '../src/core/errors.js';
import { boundMisc, checkBatch, parseClientTime, type IncomingEvent } from '../src/core/reporting/report-event.js';
import { compactMisc, isCompacted } from '../src/core/reporting/misc-compaction.js';
import { inventoryFromEvent } from '../src/core/reporting/event-inventory.js';
import { createTokenBuckets } from '../src/core/reporting/token-bucket.js';
import { ConfigError, validate } from '../src/config/config.js';

// Bad input, predictably: what a batch may contain, what is cut, what rejects the batch, what
// is stored differently; how stored MiscData is compacted; inventory from events; flood control.

const CLIENT = 'e1da06a3-5601-43c9-bac3-52d5db701494';
const RECEIVED = new Date('2026-10-04T15:20:50.000Z');
const ev = (o: Partial<IncomingEvent> = {}): IncomingEvent => ({
  targetSid: CLIENT, eventInstanceId: 'FAB199C1-6123-44F2-B01C-A5A92201B011', eventId: 156, namespaceId: 1, sourceId: 101,
  updateId: '00000000-0000-0000-0000-000000000000', revisionNumber: 0, timeAtTarget: '2026-10-04T15:20:47.397Z',
  win32HResult: 0, appName: 'test', replacementStrings: [], miscData: [], machine: null, ...o,
});
const invalid = (f: () => unknown): void => assert.throws(f, (e) => e instanceof DomainError && e.code === 'InvalidParameters' && e.detail === 'eventBatch');

test('client times: xs:dateTime with up to 7 fraction digits, zones, no zone = UTC; impossible dates are unparsable', () => {
  assert.equal(parseClientTime('2026-10-04T15:20:47.68Z'), Date.UTC(2026, 9, 4, 15, 20, 47, 680));
  assert.equal(parseClientTime('2026-10-04T16:03:35.9967236Z'), Date.UTC(2026, 9, 4, 16, 3, 35, 996));
  assert.equal(parseClientTime('2026-10-04T17:20:47+02:00'), Date.UTC(2026, 9, 4, 15, 20, 47));
  assert.equal(parseClientTime('2026-10-04T15:20:47'), Date.UTC(2026, 9, 4, 15, 20, 47));
  for (const bad of ['', 'yesterday', '2026-02-30T00:00:00Z', '2026-13-01T00:00:00Z', '2026-10-04 15:20:47Z', '2026-10-04T25:00:00Z']) {
    assert.equal(parseClientTime(bad), null, bad);
  }
});

test('a checked batch: ids lower-cased, time normalized, the cookie decides whose events they are', () => {
  const r = checkBatch([ev(), ev({ targetSid: '11111111-1111-1111-1111-111111111111', eventInstanceId: '5780318b-964e-4d39-96c4-f8cb04948ca1' })], CLIENT, RECEIVED);
  assert.equal(r.foreign, 1);
  assert.equal(r.events.length, 1);
  assert.equal(r.events[0]!.eventInstanceId, 'fab199c1-6123-44f2-b01c-a5a92201b011');
  assert.equal(r.events[0]!.timeAtTarget, '2026-10-04T15:20:47.397Z');
});

test('structurally broken events reject the whole batch', () => {
  invalid(() => checkBatch([ev(), ev({ eventInstanceId: 'not-a-guid' })], CLIENT, RECEIVED));
  invalid(() => checkBatch([ev({ updateId: '{A2FEF9B0-7951-4C2C-A42B-9E351DD1C1FE}' })], CLIENT, RECEIVED));
  invalid(() => checkBatch([ev({ timeAtTarget: 'soon' })], CLIENT, RECEIVED));
  invalid(() => checkBatch([ev({ timeAtTarget: '' })], CLIENT, RECEIVED));
});

test('impossible times (more than a day ahead, before 2000) are stored with the receipt time and counted', () => {
  const r = checkBatch([
    ev({ timeAtTarget: '2026-10-06T00:00:00Z' }),
    ev({ timeAtTarget: '1999-12-31T23:59:59Z', eventInstanceId: '5780318b-964e-4d39-96c4-f8cb04948ca1' }),
    ev({ timeAtTarget: '2026-10-05T15:00:00Z', eventInstanceId: '57191278-6b84-42d2-a9b9-4778e0d868ad' }),
  ], CLIENT, RECEIVED);
  assert.equal(r.impossibleTimes, 2);
  assert.deepEqual(r.events.map((e) => e.timeAtTarget), [RECEIVED.toISOString(), RECEIVED.toISOString(), '2026-10-05T15:00:00.000Z']);
});

test('huge MiscData: status lists keep 20,000 ids, other entries 1 KiB, at most 256 entries; replacement strings 16 × 1 KiB', () => {
  const ids = Array.from({ length: 20_000 }, (_, i) => `00000000-0000-0000-0000-${String(i).padStart(12, '0')}`).join(';');
  const misc = [...Array.from({ length: 300 }, (_, i) => `x${i}=${'y'.repeat(5000)}`), `V=${ids}`];
  const bounded = boundMisc(misc);
  assert.equal(bounded.length, 256);
  assert.ok(bounded.at(-1) === `V=${ids}`, 'the status list survives, whole');
  assert.ok(bounded.slice(0, -1).every((m) => m.length === 1024));
  const r = checkBatch([ev({ miscData: misc, replacementStrings: Array.from({ length: 40 }, () => 'r'.repeat(4000)), appName: 'a'.repeat(1000) })], CLIENT, RECEIVED);
  assert.equal(r.events[0]!.replacementStrings.length, 16);
  assert.ok(r.events[0]!.replacementStrings.every((s) => s.length === 1024));
  assert.equal(r.events[0]!.appName.length, 256);
});

test('stored MiscData: the allow-listed tags, the status lists as counts, no per-machine noise', () => {
  const misc = ['B=3', 'C=3', 'D=1', 'G=1507.2601.30012.0', 'J=775', 'K=unknown', 'L=2022-02-02T00:00:00', 'M=A;200', 'Q=1', 'T=EDK II',
    'U=A2FEF9B0-7951-4C2C-A42B-9E351DD1C1FE;0DAF8592-9E3F-4A8A-9141-D83FAFEBD09F', 'V=', 'AppName=OOBE ZDP', 'CsiErrorType=0', 'c=48', 'f=3', 'k=true', `F=${'9'.repeat(3000)}`];
  const c = compactMisc(misc);
  assert.deepEqual(c, ['B=3', 'C=3', 'D=1', 'Q=1', 'U#=2', 'V#=0', 'c=48', 'f=3', `F=${'9'.repeat(1022)}`]);
  assert.equal(isCompacted(c), true);
  assert.equal(isCompacted(misc), false);
});

test('inventory from an event: ExtendedData machine fields and MiscData G, K, L', () => {
  assert.deepEqual(inventoryFromEvent({ brand: 'QEMU', model: 'Standard PC (Q35 + ICH9, 2009)', biosRevision: 'unknown', processorArchitecture: 'Amd64Compatible', osMajor: 10, osMinor: 0, osBuild: 26200, osLocaleId: 1033 },
    ['G=1507.2601.30012.0', 'K=unknown', 'L=2022-02-02T00:00:00']), {
    manufacturer: 'QEMU', model: 'Standard PC (Q35 + ICH9, 2009)', biosVersion: 'unknown', processorArchitecture: 'AMD64',
    osMajor: 10, osMinor: 0, osBuild: 26200, osLocale: 'en-US', clientVersion: '1507.2601.30012.0', biosName: 'unknown', biosReleaseDate: '2022-02-02T00:00:00',
  });
  assert.equal(inventoryFromEvent({ processorArchitecture: 'X86Compatible' }, [])!.processorArchitecture, 'X86');
  assert.equal(inventoryFromEvent({ processorArchitecture: 'IA64Compatible' }, [])!.processorArchitecture, 'IA64');
  assert.equal(inventoryFromEvent({ osLocaleId: 9999 }, [])!.osLocale, '9999');
  assert.equal(inventoryFromEvent(null, ['G=not a version', 'B=1']), null);
});

test('per-client token buckets: a burst, then the per-minute rate; other clients have their own', () => {
  const b = createTokenBuckets(60, 100);
  assert.equal(b.take('a', 100, 0), true);
  assert.equal(b.take('a', 1, 0), false);
  assert.equal(b.take('b', 100, 0), true, 'another client is not affected');
  assert.equal(b.take('a', 10, 9_000), false, '9 tokens after 9 s');
  assert.equal(b.take('a', 10, 10_000), true);
  assert.equal(b.take('a', 100, 10_000_000), true, 'refills to the burst, not beyond');
  assert.equal(b.take('a', 1, 10_000_000), false);
});

test('reporting config: defaults, bounds, unknown keys, a burst smaller than a batch', () => {
  const d = validate({}, '/tmp/x');
  assert.deepEqual(d.reporting, { eventRetentionDays: 30, maxEventsPerComputer: 2000, clientEventsPerMinute: 1200, clientEventBurst: 3000, notReportingDays: 7 });
  assert.deepEqual(validate({ reporting: { eventRetentionDays: 7, maxEventsPerComputer: '500' } }, '/tmp/x').reporting.maxEventsPerComputer, 500);
  assert.throws(() => validate({ reporting: { eventRetentionDays: 0, nope: 1 } }, '/tmp/x'), (e) => e instanceof ConfigError &&
    e.problems.some((p) => p.startsWith('reporting.eventRetentionDays must be an integer from 1')) && e.problems.includes('unknown key "reporting.nope"'));
  assert.throws(() => validate({ reporting: { clientEventBurst: 10 } }, '/tmp/x'), (e) => e instanceof ConfigError && /clientEventBurst \(10\) must be at least limits.maxEventsPerBatch/.test(e.message));
  assert.throws(() => validate({ reporting: 5 }, '/tmp/x'), /reporting must be an object/);
});
