/** prom-client series built from catalogue entries (catalogue.ts), so names and help never drift. */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

import type { MetricSpec } from './catalogue.js';

type Labels<S extends MetricSpec> = S['labels'][number] & string;

export function gaugeOf<S extends MetricSpec>(
  spec: S,
  registry: Registry,
  collect?: (this: Gauge<Labels<S>>) => void | Promise<void>,
): Gauge<Labels<S>> {
  return new Gauge<Labels<S>>({
    name: spec.name,
    help: spec.help,
    labelNames: spec.labels as Labels<S>[],
    registers: [registry],
    ...(collect ? { collect } : {}),
  });
}

export function counterOf<S extends MetricSpec>(spec: S, registry: Registry): Counter<Labels<S>> {
  return new Counter<Labels<S>>({
    name: spec.name,
    help: spec.help,
    labelNames: spec.labels as Labels<S>[],
    registers: [registry],
  });
}

export function histogramOf<S extends MetricSpec>(
  spec: S,
  registry: Registry,
): Histogram<Labels<S>> {
  return new Histogram<Labels<S>>({
    name: spec.name,
    help: spec.help,
    labelNames: spec.labels as Labels<S>[],
    registers: [registry],
    ...(spec.buckets ? { buckets: [...spec.buckets] } : {}),
  });
}
