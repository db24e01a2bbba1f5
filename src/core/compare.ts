/**
 * Code-unit string order. Not `localeCompare`: every sentinel must order names identically
 * whatever its locale or ICU build, or two sentinels could pick different candidates.
 */
export function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
