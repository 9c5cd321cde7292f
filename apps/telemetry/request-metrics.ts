// Counters and histograms counted in the service and handed to the SDK's metric reader when it
// collects (a MetricProducer), behind the API's Meter: the SDK's own synchronous instruments turn
// every measurement's attribute set into a sorted JSON string to find its series, which cost
// 2-5 µs per request here (README, Performance). These find the series by the attribute object's
// identity (our callers reuse one object per set), and by content only the first time they see
// an object. What is exported is what the SDK's instruments export: cumulative sums and
// explicit-bucket histograms with sum, count, min and max, under the same names.
import type {
  Attributes,
  Counter,
  Histogram,
  Meter,
  MetricAdvice,
  MetricOptions,
} from "@opentelemetry/api";
import { diag, type HrTime, ValueType } from "@opentelemetry/api";
import { hrTime, type InstrumentationScope } from "@opentelemetry/core";
import type { Resource } from "@opentelemetry/resources";
import {
  AggregationTemporality,
  type CollectionResult,
  DataPointType,
  InstrumentType,
  type MetricData,
  type MetricProducer,
} from "@opentelemetry/sdk-metrics";

/** The SDK's default buckets for a histogram without advice. */
const defaultBoundaries = [0, 5, 10, 25, 50, 75, 100, 250, 500, 750, 1000, 2500, 5000, 7500, 10000];
/** The SDK's default cardinality limit, overflow series included: later sets go to it. */
const maxSeries = 2000;
const overflowAttributes: Attributes = Object.freeze({ "otel.metric.overflow": true });
const noAttributes: Attributes = Object.freeze({});

interface Series<Value> {
  attributes: Attributes;
  startTime: HrTime;
  value: Value;
}

/** One instrument's series, found by attribute-object identity, else by content. */
class SeriesTable<Value> {
  private readonly byObject = new WeakMap<Attributes, Series<Value>>();
  private readonly byContent = new Map<string, Series<Value>>();
  constructor(private readonly initial: () => Value) {}

  get(attributes: Attributes): Value {
    const known = this.byObject.get(attributes);
    if (known) return known.value;
    const key = JSON.stringify(Object.entries(attributes).sort(([a], [b]) => (a < b ? -1 : 1)));
    let series = this.byContent.get(key);
    if (!series) {
      if (this.byContent.size >= maxSeries - 1 && attributes !== overflowAttributes)
        return this.get(overflowAttributes);
      series = { attributes: { ...attributes }, startTime: hrTime(), value: this.initial() };
      this.byContent.set(key, series);
    }
    this.byObject.set(attributes, series);
    return series.value;
  }

  series(): Iterable<Series<Value>> {
    return this.byContent.values();
  }
}

interface HistogramPoint {
  counts: number[];
  sum: number;
  count: number;
  min: number;
  max: number;
}

function histogram(name: string, options: MetricOptions, boundaries: number[]) {
  const table = new SeriesTable<HistogramPoint>(() => ({
    counts: new Array(boundaries.length + 1).fill(0),
    sum: 0,
    count: 0,
    min: Number.POSITIVE_INFINITY,
    max: Number.NEGATIVE_INFINITY,
  }));
  const instrument: Histogram = {
    record(value, attributes = noAttributes) {
      if (!(value >= 0)) {
        diag.warn(`negative or non-numeric value ${value} for histogram ${name} ignored`);
        return;
      }
      const point = table.get(attributes);
      // Buckets are (previous bound, bound]; the last one is everything above.
      let bucket = 0;
      while (bucket < boundaries.length && value > (boundaries[bucket] as number)) bucket++;
      point.counts[bucket] = (point.counts[bucket] as number) + 1;
      point.sum += value;
      point.count++;
      if (value < point.min) point.min = value;
      if (value > point.max) point.max = value;
    },
  };
  const collect = (endTime: HrTime): MetricData => ({
    descriptor: describe(name, options, InstrumentType.HISTOGRAM),
    aggregationTemporality: AggregationTemporality.CUMULATIVE,
    dataPointType: DataPointType.HISTOGRAM,
    dataPoints: [...table.series()].map(({ attributes, startTime, value }) => ({
      attributes,
      startTime,
      endTime,
      value: {
        buckets: { boundaries, counts: [...value.counts] },
        sum: value.sum,
        count: value.count,
        min: value.min,
        max: value.max,
      },
    })),
  });
  return { instrument, collect };
}

function counter(name: string, options: MetricOptions) {
  const table = new SeriesTable<{ total: number }>(() => ({ total: 0 }));
  const instrument: Counter = {
    add(value, attributes = noAttributes) {
      if (!(value >= 0)) {
        diag.warn(`negative or non-numeric value ${value} for counter ${name} ignored`);
        return;
      }
      table.get(attributes).total += value;
    },
  };
  const collect = (endTime: HrTime): MetricData => ({
    descriptor: describe(name, options, InstrumentType.COUNTER),
    aggregationTemporality: AggregationTemporality.CUMULATIVE,
    dataPointType: DataPointType.SUM,
    isMonotonic: true,
    dataPoints: [...table.series()].map(({ attributes, startTime, value }) => ({
      attributes,
      startTime,
      endTime,
      value: value.total,
    })),
  });
  return { instrument, collect };
}

/** The descriptor the SDK gives an instrument made with these options. */
function describe(name: string, options: MetricOptions, type: InstrumentType) {
  const descriptor = {
    name,
    type,
    description: options.description ?? "",
    unit: options.unit ?? "",
    valueType: options.valueType ?? ValueType.DOUBLE,
    advice: options.advice ?? {},
  };
  return descriptor;
}

export interface RequestMetrics {
  /** For the metric reader's `metricProducers`. */
  producer: MetricProducer;
  /** A Meter whose counters and histograms are these; everything else is `sdkMeter`'s. */
  meter(sdkMeter: Meter): Meter;
}

export function requestMetrics(scope: InstrumentationScope, resource: Resource): RequestMetrics {
  const instruments: ((endTime: HrTime) => MetricData)[] = [];
  const register = <T>(made: { instrument: T; collect: (endTime: HrTime) => MetricData }) => {
    instruments.push(made.collect);
    return made.instrument;
  };
  return {
    producer: {
      async collect(): Promise<CollectionResult> {
        const endTime = hrTime();
        // Like the SDK: an instrument without measurements is not exported.
        const metrics = instruments
          .map((collect) => collect(endTime))
          .filter((metric) => metric.dataPoints.length > 0);
        return {
          resourceMetrics: { resource, scopeMetrics: metrics.length ? [{ scope, metrics }] : [] },
          errors: [],
        };
      },
    },
    meter: (sdkMeter) => ({
      createHistogram: (name, options = {}) =>
        register(
          histogram(
            name,
            options,
            (options.advice as MetricAdvice | undefined)?.explicitBucketBoundaries ??
              defaultBoundaries,
          ),
        ),
      createCounter: (name, options = {}) => register(counter(name, options)),
      createGauge: (...args) => sdkMeter.createGauge(...args),
      createUpDownCounter: (...args) => sdkMeter.createUpDownCounter(...args),
      createObservableGauge: (...args) => sdkMeter.createObservableGauge(...args),
      createObservableCounter: (...args) => sdkMeter.createObservableCounter(...args),
      createObservableUpDownCounter: (...args) => sdkMeter.createObservableUpDownCounter(...args),
      addBatchObservableCallback: (...args) => sdkMeter.addBatchObservableCallback(...args),
      removeBatchObservableCallback: (...args) => sdkMeter.removeBatchObservableCallback(...args),
    }),
  };
}
