import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatAnchor, parseAnchor } from '../src/core/server-sync/anchor.js';

// Anchors are WSUS-shaped (`<counter>,<yyyy-MM-dd HH:mm:ss.fff>`), parsed strictly.

test('formatAnchor writes the WSUS shape in UTC with milliseconds', () => {
  const cases: Array<[number, string, string]> = [
    [9438, '2026-10-04T16:33:26.671Z', '9438,2026-10-04 16:33:26.671'],
    [0, '2026-01-02T03:04:05.006Z', '0,2026-01-02 03:04:05.006'],
    [123456789012, '1999-12-31T23:59:59.999Z', '123456789012,1999-12-31 23:59:59.999'],
  ];
  for (const [counter, iso, expected] of cases) assert.equal(formatAnchor(counter, new Date(iso)), expected);
});

test('formatAnchor refuses counters an anchor cannot carry', () => {
  for (const bad of [-1, 1.5, Number.NaN, Number.MAX_SAFE_INTEGER + 1]) {
    assert.throws(() => formatAnchor(bad, new Date()), RangeError);
  }
});

test('parseAnchor inverts formatAnchor', () => {
  for (const [counter, iso] of [[1, '2026-10-04T16:33:26.671Z'], [987654321, '2030-02-28T00:00:00.000Z'], [0, '2024-02-29T12:00:00.500Z']] as const) {
    const text = formatAnchor(counter, new Date(iso));
    assert.deepEqual(parseAnchor(text), { counter, at: Date.parse(iso) });
  }
});

test('parseAnchor accepts the anchors a real WSUS issues', () => {
  assert.deepEqual(parseAnchor('9438,2026-10-04 16:09:27.167'), { counter: 9438, at: Date.parse('2026-10-04T16:09:27.167Z') });
});

test('parseAnchor rejects everything this server could not have issued', () => {
  const bad = [
    '', 'garbage', '9438', '9438,', ',2026-10-04 16:09:27.167',
    ' 9438,2026-10-04 16:09:27.167', '9438,2026-10-04 16:09:27.167 ', '9438 ,2026-10-04 16:09:27.167',
    '-1,2026-10-04 16:09:27.167', '+1,2026-10-04 16:09:27.167', '01,2026-10-04 16:09:27.167', '1.5,2026-10-04 16:09:27.167',
    '1e3,2026-10-04 16:09:27.167', '1234567890123456,2026-10-04 16:09:27.167',
    '1,2026-10-04T16:09:27.167', '1,2026-10-04 16:09:27', '1,2026-10-04 16:09:27.16', '1,2026-10-04 16:09:27.1670',
    '1,26-10-04 16:09:27.167', '1,2026-13-04 16:09:27.167', '1,2026-00-04 16:09:27.167', '1,2026-02-30 16:09:27.167',
    '1,2025-02-29 00:00:00.000', '1,2026-10-04 24:00:00.000', '1,2026-10-04 23:60:00.000', '1,2026-10-04 23:59:60.000',
    '1,1752-12-31 23:59:59.999', '1,2026-10-04 16:09:27.167,2', '1;2026-10-04 16:09:27.167', '１,2026-10-04 16:09:27.167',
  ];
  for (const text of bad) assert.equal(parseAnchor(text), undefined, JSON.stringify(text));
});
