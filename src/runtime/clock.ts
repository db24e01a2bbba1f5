/** Time source for the runtime: monotonic for durations and timeouts, wall for stored stamps. */
export interface Clock {
  mono(): number;
  wall(): number;
}

export const systemClock: Clock = {
  mono: () => performance.now(),
  wall: () => Date.now(),
};
