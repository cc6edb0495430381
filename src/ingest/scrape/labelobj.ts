/**
 * Label sets as plain objects, safe for every valid label name. Reads see own properties only (so an absent
 * "constructor" label is undefined, not Object.prototype.constructor) and `__proto__` is stored as an ordinary
 * key. Plain objects rather than null-prototype ones: V8 keeps the latter in slow dictionary mode.
 */

/** The value of label `name`, or undefined when absent. */
export function getLabel(labels: Readonly<Record<string, string>>, name: string): string | undefined {
  return Object.hasOwn(labels, name) ? labels[name] : undefined;
}

/** Sets label `name` (including `__proto__`) as an own, enumerable property. */
export function setLabel(labels: Record<string, string>, name: string, value: string): void {
  if (name === '__proto__')
    Object.defineProperty(labels, name, { value, enumerable: true, writable: true, configurable: true });
  else labels[name] = value;
}

/** An own-property copy of a label set. */
export function copyLabels(labels: Readonly<Record<string, string>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const n of Object.keys(labels)) setLabel(out, n, labels[n]!);
  return out;
}
