/*
 * One canonical encoding for everything that is hashed or signed (audit chain, jobs): object keys
 * sorted by UTF-16 code unit, no insignificant whitespace, UTF-8 bytes, Dates as ISO-8601 UTC with
 * milliseconds, finite numbers only, no undefined values inside arrays. Sign bytes, not strings.
 */

export type CanonicalValue = null | boolean | number | string | Date | CanonicalValue[] | { [key: string]: CanonicalValue | undefined };

export class CanonicalJsonError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CanonicalJsonError';
  }
}

function encode(value: unknown, where: string): string {
  if (value === null) return 'null';
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new CanonicalJsonError(`${where}: ${value} has no canonical form`);
    return JSON.stringify(Object.is(value, -0) ? 0 : value);
  }
  if (typeof value === 'string') return JSON.stringify(value);
  if (value instanceof Date) {
    if (Number.isNaN(value.getTime())) throw new CanonicalJsonError(`${where}: invalid date`);
    return JSON.stringify(value.toISOString());
  }
  if (Array.isArray(value)) {
    return `[${value.map((item, i) => {
      if (item === undefined) throw new CanonicalJsonError(`${where}[${i}]: undefined`);
      return encode(item, `${where}[${i}]`);
    }).join(',')}]`;
  }
  if (typeof value === 'object') {
    const proto = Object.getPrototypeOf(value) as unknown;
    if (proto !== Object.prototype && proto !== null) throw new CanonicalJsonError(`${where}: only plain objects are encodable`);
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${encode(v, `${where}.${k}`)}`).join(',')}}`;
  }
  throw new CanonicalJsonError(`${where}: ${typeof value} is not encodable`);
}

export function canonicalJson(value: CanonicalValue): string {
  return encode(value, '$');
}

export function canonicalBytes(value: CanonicalValue): Uint8Array {
  return new TextEncoder().encode(canonicalJson(value));
}
