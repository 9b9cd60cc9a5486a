/** Index of the last item whose base offset <= `offset` (0 when `offset` is below them all). */
export function floorByBaseOffset(items: ReadonlyArray<{ readonly baseOffset: bigint }>, offset: bigint): number {
  let low = 0;
  let high = items.length - 1;
  let found = 0;
  while (low <= high) {
    const middle = (low + high) >>> 1;
    if (items[middle]!.baseOffset <= offset) {
      found = middle;
      low = middle + 1;
    } else {
      high = middle - 1;
    }
  }
  return found;
}
