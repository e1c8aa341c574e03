// source-check.js: what is refused before any upload (over max_upload_mb, unreadable, too short or
// too long) and the limits read from /api/status.
import test from 'node:test';
import assert from 'node:assert/strict';
import { checkSource, limitsFromStatus } from '../../ui/js/source-check.js';

const limits = limitsFromStatus({ config: { max_upload_mb: 2, min_audio_seconds: 0.5, max_audio_seconds: 600 } });

test('limits come from the status config in bytes and seconds', () => {
  assert.deepEqual(limits, { maxBytes: 2 * 1024 * 1024, minSeconds: 0.5, maxSeconds: 600 });
  assert.deepEqual(limitsFromStatus(null), { maxBytes: 0, minSeconds: 0, maxSeconds: 0 });
});

test('a file over the upload limit is refused with its size and the limit', () => {
  assert.deepEqual(checkSource({ size: 3 * 1024 * 1024 }, limits), { key: 'check.tooLarge', vars: { size: 3 * 1024 * 1024, max: 2 * 1024 * 1024 } });
  assert.equal(checkSource({ size: 2 * 1024 * 1024, duration: 3 }, limits), null, 'exactly the limit is fine');
});

test('unreadable, empty, too short and too long are refused; unknown duration is not', () => {
  assert.equal(checkSource({ size: 10, unreadable: true }, limits).key, 'check.unreadable');
  assert.equal(checkSource({ size: 0 }, limits).key, 'check.empty');
  assert.equal(checkSource({ size: 100, duration: 0.2 }, limits).key, 'check.tooShort');
  assert.equal(checkSource({ size: 100, duration: 601 }, limits).key, 'check.tooLong');
  assert.equal(checkSource({ size: 100, duration: null }, limits), null);
  assert.equal(checkSource(null, limits), null);
});

test('without limits (no status yet) only what no server accepts is refused', () => {
  assert.equal(checkSource({ size: 500 * 1024 * 1024, duration: 1 }, {}), null);
  assert.equal(checkSource({ size: 10, unreadable: true }, {}).key, 'check.unreadable');
});
