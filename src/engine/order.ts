/**
 * The order in which the arms run in one round. Interleaving cancels drift (thermal throttling,
 * a neighbour's load, the page cache filling) that would otherwise favour whichever arm runs
 * first: with two arms the rounds go A B | B A | A B … (ABBA); with three or more arms the list is rotated
 * by one every two rounds and reversed on odd rounds, so over 2 × arms rounds every arm holds every
 * position equally often.
 */
export function armOrder<T>(arms: readonly T[], round: number): T[] {
  const n = arms.length;
  if (n === 0) return [];
  const shift = n > 2 ? Math.floor(round / 2) % n : 0;
  const rotated = [...arms.slice(shift), ...arms.slice(0, shift)];
  return round % 2 === 1 ? rotated.reverse() : rotated;
}
