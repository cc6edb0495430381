/**
 * Go's fmt for template values: `fmt.Sprint` (with float64 printed as `%v` does) and `fmt.Sprintf` for the
 * verbs templates use. Shared by rule templates and notification templates.
 */
import { formatFixed, formatFloatV, formatG } from '../rules/gofmt.ts';

/** Go's `fmt.Sprint` of a template value, numbers being float64. */
export function sprint(v: unknown): string {
  if (v === undefined || v === null) return '<no value>';
  if (typeof v === 'number') return formatFloatV(v);
  if (typeof v === 'string') return v;
  if (typeof v === 'boolean') return String(v);
  if (Array.isArray(v)) return `[${v.map(sprint).join(' ')}]`;
  const o = v as Record<string, unknown>;
  return `map[${Object.keys(o)
    .sort()
    .map((k) => `${k}:${sprint(o[k])}`)
    .join(' ')}]`;
}

/** The Go type name a value stands for, as Go's error messages print it. */
export function typeName(v: unknown): string {
  if (typeof v === 'number') return 'float64';
  if (typeof v === 'string') return 'string';
  if (typeof v === 'boolean') return 'bool';
  if (v === undefined || v === null) return '<nil>';
  return Array.isArray(v) ? '[]interface {}' : 'map[string]string';
}

/** Go's fmt.Sprintf for the verbs templates use: %s %v %d %f %e %g %q %x %%, with width and precision. */
export function sprintf(format: string, args: readonly unknown[]): string {
  let n = 0;
  return (
    format.replace(
      /%([-+ 0#]*)(\d+)?(?:\.(\d+))?([a-zA-Z%])/g,
      (_m, flags: string, w?: string, p?: string, verb?: string) => {
        if (verb === '%') return '%';
        if (n >= args.length) return `%!${verb}(MISSING)`;
        const a = args[n++];
        const prec = p === undefined ? undefined : Number(p);
        let s: string;
        switch (verb) {
          case 'v':
          case 's':
            s = sprint(a);
            if (prec !== undefined && typeof a === 'string') s = s.slice(0, prec);
            break;
          case 'q':
            s = JSON.stringify(sprint(a));
            break;
          case 'd':
            s = typeof a === 'number' && Number.isInteger(a) ? String(a) : bad('d', a);
            break;
          case 'f':
          case 'F':
            s = typeof a === 'number' ? formatFixed(a, prec ?? 6) : bad('f', a);
            if (typeof a === 'number' && flags.includes('+') && a >= 0) s = '+' + s;
            break;
          case 'e':
            s = typeof a === 'number' ? goExp(a, prec ?? 6) : bad('e', a);
            break;
          case 'g':
            s = typeof a === 'number' ? formatG(a, prec ?? -1) : bad('g', a);
            break;
          case 'x':
            s =
              typeof a === 'number' && Number.isInteger(a)
                ? a.toString(16)
                : Buffer.from(sprint(a)).toString('hex');
            break;
          default:
            s = bad(verb!, a);
        }
        const width = w === undefined ? 0 : Number(w);
        if (s.length < width)
          s = flags.includes('-') ? s.padEnd(width) : s.padStart(width, flags.includes('0') ? '0' : ' ');
        return s;
      },
    ) +
    (n < args.length
      ? `%!(EXTRA ${args
          .slice(n)
          .map((a) => `${typeName(a)}=${sprint(a)}`)
          .join(', ')})`
      : '')
  );
}

function bad(verb: string, a: unknown): string {
  return `%!${verb}(${typeName(a)}=${sprint(a)})`;
}

function goExp(v: number, prec: number): string {
  if (!Number.isFinite(v)) return sprint(v);
  const [m, e] = v.toExponential(prec).split('e') as [string, string];
  const exp = Number(e);
  return `${m}e${exp < 0 ? '-' : '+'}${String(Math.abs(exp)).padStart(2, '0')}`;
}
