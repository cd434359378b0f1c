// Real-time ETL: order events as JSON lines → parse and validate → drop resent duplicates →
// enrich from reference tables (user → country, SKU → product, category, price) → JSON lines.
// Every line that cannot be used goes, with the reason, to a dead-letter side output written to
// its own directory, so nothing is lost silently: each non-blank input line ends up in exactly
// one of the two outputs.
//   npx weir run examples/etl.ts --parallelism 2
//   npx weir run examples/etl.ts --param input=my-orders/ --param out=/tmp/orders --param dead=/tmp/orders-dead \
//     --checkpoint-dir /tmp/etl-chk
// Params: input (a file or directory of JSON lines, default examples/data/orders/), out (enriched
// orders, default .weir-out/etl/orders), dead (dead letters, default .weir-out/etl/dead-letters).
// Guide: docs/guides/etl.md.
import {
  defineJob,
  FileSink,
  FileSource,
  KeyedProcessFunction,
  OutputTag,
  ProcessFunction,
  type Collector,
  type KeyedContext,
  type ProcessContext,
  type RuntimeContext,
  type ValueState,
} from 'weir';

/** An order event as it should arrive (one JSON object per line). */
export interface Order {
  orderId: string;
  /** ISO 8601 with a time zone. */
  time: string;
  user: string;
  sku: string;
  qty: number;
}

export interface EnrichedOrder {
  orderId: string;
  /** `time` normalized to UTC. */
  time: string;
  user: string;
  country: string;
  sku: string;
  product: string;
  category: string;
  qty: number;
  unitPrice: number;
  total: number;
}

export interface DeadLetter {
  reason: string;
  line: string;
}

/** Reference data. A real job would load it in `open()` (which may be async) from a file or a service. */
export const USERS: Readonly<Record<string, { country: string }>> = {
  'u-ada': { country: 'GB' },
  'u-bo': { country: 'SE' },
  'u-chen': { country: 'CN' },
  'u-dara': { country: 'IE' },
  'u-emil': { country: 'DE' },
  'u-fatou': { country: 'SN' },
  'u-gio': { country: 'IT' },
  'u-hana': { country: 'JP' },
};

export const PRODUCTS: Readonly<Record<string, { name: string; category: string; priceCents: number }>> = {
  'SKU-KETTLE': { name: 'Electric kettle', category: 'kitchen', priceCents: 3499 },
  'SKU-MUG': { name: 'Stoneware mug', category: 'kitchen', priceCents: 899 },
  'SKU-LAMP': { name: 'Desk lamp', category: 'home', priceCents: 2450 },
  'SKU-BULB': { name: 'LED bulb 4-pack', category: 'home', priceCents: 1199 },
  'SKU-NOTE': { name: 'A5 notebook', category: 'stationery', priceCents: 550 },
  'SKU-PEN': { name: 'Fountain pen', category: 'stationery', priceCents: 4200 },
  'SKU-TEA': { name: 'Green tea 100 g', category: 'grocery', priceCents: 675 },
  'SKU-BEANS': { name: 'Coffee beans 1 kg', category: 'grocery', priceCents: 1890 },
};

/** Where unusable lines go: `ctx.output(DEAD_LETTERS, …)` in the function, `getSideOutput` in the plan. */
export const DEAD_LETTERS = new OutputTag<DeadLetter>('dead-letters');

/** A line after parsing: a well-formed order, or why it is not one. */
export type Parsed = { ok: true; order: Order; line: string } | { ok: false; reason: string; line: string };
export type ValidLine = Extract<Parsed, { ok: true }>;

/** Parses and validates one line (the schema only; reference lookups come later). */
export function parseOrder(line: string): Parsed {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return { ok: false, reason: 'malformed JSON', line };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return { ok: false, reason: 'not a JSON object', line };
  const { orderId, time, user, sku, qty } = value as Record<string, unknown>;
  const problem =
    typeof orderId !== 'string' || orderId === '' ? 'missing orderId'
    : typeof time !== 'string' || !Number.isFinite(Date.parse(time)) ? `invalid time ${JSON.stringify(time)}`
    : typeof user !== 'string' || user === '' ? 'missing user'
    : typeof sku !== 'string' || sku === '' ? 'missing sku'
    : typeof qty !== 'number' || !Number.isInteger(qty) || qty < 1 ? `qty must be a positive integer, got ${JSON.stringify(qty)}`
    : undefined;
  if (problem !== undefined) return { ok: false, reason: problem, line };
  return { ok: true, order: { orderId, time, user, sku, qty } as Order, line };
}

/** Parses each line: orders go on, unusable lines to the dead letters (no key, no state needed). */
class Validate extends ProcessFunction<string, ValidLine> {
  processElement(line: string, ctx: ProcessContext, out: Collector<ValidLine>): void {
    const parsed = parseOrder(line);
    if (parsed.ok) out.collect(parsed);
    else ctx.output(DEAD_LETTERS, { reason: parsed.reason, line: parsed.line });
  }
}

/**
 * Keyed by order id: drops resent orders (a ValueState flag per id) and enriches the rest from
 * the reference tables.
 */
class DedupeAndEnrich extends KeyedProcessFunction<string, ValidLine, EnrichedOrder> {
  #seen!: ValueState<boolean>;

  override open(ctx: RuntimeContext): void {
    this.#seen = ctx.getValueState('seen');
  }

  processElement({ order, line }: ValidLine, ctx: KeyedContext<string>, out: Collector<EnrichedOrder>): void {
    const user = USERS[order.user];
    const product = PRODUCTS[order.sku];
    if (user === undefined || product === undefined || this.#seen.value() === true) {
      const reason =
        user === undefined ? `unknown user ${order.user}`
        : product === undefined ? `unknown sku ${order.sku}`
        : `duplicate orderId ${order.orderId}`;
      ctx.output(DEAD_LETTERS, { reason, line });
      return;
    }
    this.#seen.update(true);
    out.collect({
      orderId: order.orderId,
      time: new Date(Date.parse(order.time)).toISOString(),
      user: order.user,
      country: user.country,
      sku: order.sku,
      product: product.name,
      category: product.category,
      qty: order.qty,
      unitPrice: product.priceCents / 100,
      total: (order.qty * product.priceCents) / 100, // in cents first: 3 * 19.99 is 59.97000000000001
    });
  }
}

export default defineJob((env) => {
  const input = env.params.input ?? new URL('./data/orders/', import.meta.url).pathname;
  const valid = env
    .fromSource(new FileSource({ path: input }), 'order-lines')
    .uid('order-lines')
    .filter((line) => line.trim() !== '')
    .name('non-blank')
    .process(new Validate())
    .name('parse-validate')
    .uid('parse-validate');
  const orders = valid
    .keyBy((v) => v.order.orderId)
    .process(new DedupeAndEnrich())
    .name('dedupe-enrich')
    .uid('dedupe-enrich');
  orders.sinkTo(new FileSink<EnrichedOrder>({ directory: env.params.out ?? '.weir-out/etl/orders' }), 'orders').uid('orders');
  // Both stages' dead letters, into one directory.
  valid
    .getSideOutput(DEAD_LETTERS)
    .union(orders.getSideOutput(DEAD_LETTERS))
    .sinkTo(new FileSink<DeadLetter>({ directory: env.params.dead ?? '.weir-out/etl/dead-letters' }), 'dead-letters')
    .uid('dead-letters');
});
