import { ErrorMessage } from '../../components/states.tsx';
/**
 * What the API refused that no field shows (or the whole error when it named no field), under a form.
 * Problems placed beside their fields are not repeated here.
 */
export function SaveError(props: {
  failed: boolean;
  error: Error | null;
  problems: ReadonlyMap<string, string>;
  leftover: readonly string[];
}) {
  const { failed, error, problems, leftover } = props;
  if (!failed || (problems.size > 0 && leftover.length === 0)) return null;
  return <ErrorMessage error={problems.size ? new Error(leftover.join('\n')) : error} title="Not saved" />;
}
