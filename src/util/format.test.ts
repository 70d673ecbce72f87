import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatMeasured, shortNumber, signedChange, signedFixed, signedShort } from './format.ts';

test('a change is written with a real minus, and ± for what shows as zero', () => {
  assert.equal(signedChange(-1.234, '%'), '−1.23%');
  assert.equal(signedFixed(-0.5, 2, ' ms'), '−0.50 ms');
  assert.equal(signedFixed(1, 2), '+1.00');
  assert.equal(signedFixed(0.001, 2), '±0.00');
  assert.equal(signedFixed(null), '—');
  assert.equal(signedShort(-12_345, ' pts'), '−12.3k pts');
  assert.equal(signedShort(0.4), '+0.4');
});

test("a report's measurement keeps fewer decimals as it grows; a short number uses k", () => {
  assert.equal(formatMeasured(90), '90.0');
  assert.equal(formatMeasured(100), '100');
  assert.equal(formatMeasured(1.234, 2), '1.23');
  assert.equal(formatMeasured(undefined), '—');
  assert.equal(shortNumber(12_345), '12.3k');
  assert.equal(shortNumber(0.012345), '0.0123');
});
