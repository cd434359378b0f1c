/**
 * Builds the `WEIR_RECORD_NOT_SERIALIZABLE` error the record codecs throw, naming the offending
 * value's type and where in the record it sits. Runs on the producer subtask thread, only on the
 * error path, so it may walk the record again to find the path.
 * @internal
 */
import { WeirError } from '../../errors.ts';

/** A short human name for a value's type: `function`, `symbol`, `class Point`, `RegExp`, `cyclic object`… */
export function describeValueType(value: unknown): string {
  if (value === null) return 'null';
  const kind = typeof value;
  if (kind !== 'object') return kind;
  const proto: unknown = Object.getPrototypeOf(value);
  const ctor = (proto as { constructor?: { name?: unknown } } | null)?.constructor;
  const name = typeof ctor?.name === 'string' && ctor.name !== '' ? ctor.name : 'anonymous';
  // Built-ins (RegExp, Error, Int32Array, WeakMap…) are named bare; user classes are marked.
  return isBuiltin(ctor) ? name : `class ${name}`;
}

function isBuiltin(ctor: unknown): boolean {
  return typeof ctor === 'function' && /\{\s*\[native code\]\s*\}\s*$/.test(Function.prototype.toString.call(ctor));
}

/**
 * The error for `bad` found inside `record`. `reason` overrides the default "values of type X
 * are not supported" (e.g. for nesting too deep).
 */
export function notSerializable(codecName: string, record: unknown, bad: unknown, reason?: string): WeirError {
  const type = describeValueType(bad);
  const path = findPath(record, bad) ?? '(record)';
  const why = reason === undefined ? `values of type ${type} are not supported` : `${type} value: ${reason}`;
  const hint = SUPPORTED[codecName] ?? '';
  return new WeirError(
    'WEIR_RECORD_NOT_SERIALIZABLE',
    `record is not serializable by the '${codecName}' record codec: ${why} (at ${path})${hint}`,
    { context: { codec: codecName, valueType: type, path } },
  );
}

const SUPPORTED: Record<string, string> = {
  binary: '; records may hold strings, numbers, booleans, null, undefined, bigint, Date, Map, Set, ' +
    'Uint8Array, Buffer, arrays and plain objects',
  json: '; the json record codec takes what JSON.stringify takes',
  v8: '; the v8 record codec takes what structuredClone takes',
};

/** Path like `record.user.tags[2]` from `root` to the first occurrence of `target`, or undefined. */
export function findPath(root: unknown, target: unknown): string | undefined {
  const seen = new Set<unknown>();
  const visit = (value: unknown, path: string): string | undefined => {
    if (value === target || (Number.isNaN(target) && Number.isNaN(value))) return path;
    if (value === null || typeof value !== 'object' || seen.has(value)) return undefined;
    seen.add(value);
    if (value instanceof Map) {
      let i = 0;
      for (const [k, v] of value) {
        const found = visit(k, `${path}<key ${i}>`) ?? visit(v, `${path}.get(<key ${i}>)`);
        if (found !== undefined) return found;
        i++;
      }
      return undefined;
    }
    if (value instanceof Set) {
      let i = 0;
      for (const v of value) {
        const found = visit(v, `${path}<element ${i++}>`);
        if (found !== undefined) return found;
      }
      return undefined;
    }
    if (Array.isArray(value)) {
      for (let i = 0; i < value.length; i++) {
        const found = visit(value[i], `${path}[${i}]`);
        if (found !== undefined) return found;
      }
      return undefined;
    }
    for (const key of Object.keys(value)) {
      const found = visit((value as Record<string, unknown>)[key], /^[A-Za-z_$][\w$]*$/.test(key) ? `${path}.${key}` : `${path}[${JSON.stringify(key)}]`);
      if (found !== undefined) return found;
    }
    return undefined;
  };
  return visit(root, 'record');
}
