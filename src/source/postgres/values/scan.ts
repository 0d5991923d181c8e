/**
 * Character-level helpers shared by the decoders: reading runs of ASCII digits by index, without
 * regexes or substrings. Each returns -1 for text that is not a digit run, so callers can reject
 * malformed input with one comparison.
 */

/** The value of the ASCII digits text[start..end), or -1 if the range is empty or holds a non-digit. Up to 15 digits are exact. */
export function digitsAt(text: string, start: number, end: number): number {
  if (start >= end || end > text.length) return -1;
  let n = 0;
  for (let i = start; i < end; i++) {
    const d = text.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return -1;
    n = n * 10 + d;
  }
  return n;
}

/** The index of the first character at or after `start` that is not an ASCII digit. */
export function endOfDigits(text: string, start: number): number {
  let i = start;
  const len = text.length;
  while (i < len) {
    const d = text.charCodeAt(i) - 48;
    if (d < 0 || d > 9) break;
    i++;
  }
  return i;
}

/**
 * Microseconds from a fraction's digits text[start..end) (1 to 6 digits: ".5" is 500000 µs), or
 * -1 if malformed.
 */
export function fractionMicros(text: string, start: number, end: number): number {
  const width = end - start;
  if (width < 1 || width > 6) return -1;
  const n = digitsAt(text, start, end);
  return n < 0 ? -1 : n * SCALE[width]!;
}

const SCALE = [0, 100_000, 10_000, 1_000, 100, 10, 1];
