/** Signatures of PromQL functions, used by the parser for checking and by the engine for dispatch. */
import type { ValueType } from './ast.ts';

/**
 * A function signature. `variadic` follows Prometheus: 0 = exactly `argTypes`; n > 0 = the last argument may be
 * left out (up to n optional trailing arguments of the last type); -1 = the last type repeats without limit.
 */
export interface FunctionDef {
  readonly name: string;
  readonly argTypes: readonly ValueType[];
  readonly variadic: number;
  readonly returnType: ValueType;
}

const defs: FunctionDef[] = [];
function def(name: string, argTypes: ValueType[], returnType: ValueType, variadic = 0): void {
  defs.push({ name, argTypes, variadic, returnType });
}

for (const f of [
  'abs',
  'ceil',
  'floor',
  'exp',
  'ln',
  'log2',
  'log10',
  'sqrt',
  'sgn',
  'deg',
  'rad',
  'sin',
  'cos',
  'tan',
  'asin',
  'acos',
  'atan',
  'sinh',
  'cosh',
  'tanh',
  'asinh',
  'acosh',
  'atanh',
  'timestamp',
  'sort',
  'sort_desc',
  'absent',
  'histogram_count',
  'histogram_sum',
  'histogram_avg',
  'histogram_stddev',
  'histogram_stdvar',
]) {
  def(f, ['vector'], 'vector');
}
for (const f of [
  'rate',
  'irate',
  'increase',
  'delta',
  'idelta',
  'deriv',
  'changes',
  'resets',
  'avg_over_time',
  'min_over_time',
  'max_over_time',
  'sum_over_time',
  'count_over_time',
  'stddev_over_time',
  'stdvar_over_time',
  'last_over_time',
  'present_over_time',
  'absent_over_time',
  'mad_over_time',
  'first_over_time',
  'ts_of_min_over_time',
  'ts_of_max_over_time',
  'ts_of_first_over_time',
  'ts_of_last_over_time',
]) {
  def(f, ['matrix'], 'vector');
}
for (const f of [
  'minute',
  'hour',
  'day_of_week',
  'day_of_month',
  'day_of_year',
  'days_in_month',
  'month',
  'year',
]) {
  def(f, ['vector'], 'vector', 1);
}
def('quantile_over_time', ['scalar', 'matrix'], 'vector');
def('predict_linear', ['matrix', 'scalar'], 'vector');
def('double_exponential_smoothing', ['matrix', 'scalar', 'scalar'], 'vector');
def('holt_winters', ['matrix', 'scalar', 'scalar'], 'vector');
def('round', ['vector', 'scalar'], 'vector', 1);
def('clamp', ['vector', 'scalar', 'scalar'], 'vector');
def('clamp_min', ['vector', 'scalar'], 'vector');
def('clamp_max', ['vector', 'scalar'], 'vector');
def('histogram_quantile', ['scalar', 'vector'], 'vector');
def('histogram_fraction', ['scalar', 'scalar', 'vector'], 'vector');
def('label_replace', ['vector', 'string', 'string', 'string', 'string'], 'vector');
def('label_join', ['vector', 'string', 'string', 'string'], 'vector', -1);
def('sort_by_label', ['vector', 'string'], 'vector', -1);
def('sort_by_label_desc', ['vector', 'string'], 'vector', -1);
def('time', [], 'scalar');
def('pi', [], 'scalar');
def('vector', ['scalar'], 'vector');
def('scalar', ['vector'], 'scalar');

/** All known functions by name. */
export const FUNCTIONS: ReadonlyMap<string, FunctionDef> = new Map(defs.map((d) => [d.name, d]));
