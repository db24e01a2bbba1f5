/** The system clock (the Clock port): performance.now() for durations, Date.now() for stamps. */
import type { Clock } from '../ports/clock.js';

export const systemClock: Clock = {
  mono: () => performance.now(),
  wall: () => Date.now(),
};
