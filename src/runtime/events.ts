/**
 * The one event function (Sentinel's sentinelEvent()): core returns events; this stamps them,
 * logs them, and publishes them to the channel and the history stream. Metrics and the API
 * subscribe through `onEvent`. Publishing is best effort: without Redis the event is still logged.
 */
import { randomInt } from 'node:crypto';

import { EventIds, SALT_SPACE } from '../core/event-id.js';
import type { PgvigilEvent, StampedEvent } from '../core/events.js';
import type { CoordinationStore } from '../ports/coordination.js';
import type { Logger } from '../ports/logger.js';

export type EventListener = (event: StampedEvent) => void;

/** What a collaborator needs to report a state change. */
export interface EventSink {
  emit(event: PgvigilEvent): Promise<StampedEvent>;
}

/** Where in-process listeners (metrics, the intent runner) hear every emitted event. */
export interface EventSource {
  onEvent(listener: EventListener): void;
}

export class EventBus implements EventSink, EventSource {
  readonly #store: Pick<CoordinationStore, 'publishEvent'>;
  readonly #log: Logger;
  readonly #listeners: EventListener[] = [];
  /** stream ids the same on every Redis server (src/core/event-id.ts) */
  readonly #ids = new EventIds(randomInt(SALT_SPACE));

  constructor(store: Pick<CoordinationStore, 'publishEvent'>, log: Logger) {
    this.#store = store;
    this.#log = log;
  }

  onEvent(listener: EventListener): void {
    this.#listeners.push(listener);
  }

  async emit(event: PgvigilEvent): Promise<StampedEvent> {
    const stamped = {
      ...event,
      at: new Date().toISOString(),
      id: this.#ids.next(Date.now()),
    } as StampedEvent;
    const { type, cluster, epoch, ...rest } = stamped;
    const node = 'node' in rest ? rest.node : undefined;
    this.#log.info(
      { event: type, cluster, epoch, node, ...(type === 'topology-changed' ? {} : rest) },
      type,
    );
    for (const l of this.#listeners) l(stamped);
    try {
      const outcome = await this.#store.publishEvent(event.cluster, stamped);
      if (outcome?.laterId) this.#ids.observe(outcome.laterId);
    } catch (err) {
      this.#log.warn(
        { cluster, epoch, err: (err as Error).message, event: type },
        'event not published',
      );
    }
    return stamped;
  }
}
