/**
 * Fills `${name}` placeholders in a provisioning template. Pure; an unknown name is an error with the
 * template's file and line, so a typo in `demo/provisioning/vigil.yml` is caught at start.
 */

/** A placeholder without a value; the message names file, line and the names that exist. */
export class TemplateError extends Error {
  override name = 'TemplateError';
}

/** Replaces every `${name}` in `text` (names: letters, digits, `_ . -`) with `vars[name]`. */
export function renderTemplate(
  text: string,
  vars: Readonly<Record<string, string | number>>,
  file: string,
): string {
  return text
    .split('\n')
    .map((line, i) =>
      line.replace(/\$\{([\w.-]+)\}/g, (_m, name: string) => {
        const v = vars[name];
        if (v === undefined)
          throw new TemplateError(
            `${file}:${i + 1}: unknown placeholder \${${name}}; known: ${Object.keys(vars).sort().join(', ')}`,
          );
        return String(v);
      }),
    )
    .join('\n');
}
