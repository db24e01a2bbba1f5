/**
 * Clock port: monotonic time for durations and timeouts, wall time for stored stamps. The
 * runtime reads time only through it (tests pass a manual clock); core takes time as arguments.
 */
export interface Clock {
  /** monotonic milliseconds (never jumps back) */
  mono(): number;
  /** wall-clock epoch milliseconds */
  wall(): number;
}
