/**
 * The `components:` section of Vigil's configuration: components declared by name, what identifies their data
 * (a scrape job or a service name), the health checks that probe them and the components they depend on.
 * Reference: docs/health.md, "Components and their health".
 */
import { z } from 'zod';

const NAME = /^[^\s/][^/]*$/;

export const componentConfigSchema = z
  .object({
    /** Unique name, shown by the API and used in `depends_on`. */
    name: z
      .string({ error: 'a component needs a name' })
      .regex(NAME, 'a component name must be non-empty, not start with a space and not contain "/"'),
    /** Which data is this component's: a scrape job (the `job` label) or an OTLP/trace service name. */
    match: z
      .object({ job: z.string().min(1).optional(), service: z.string().min(1).optional() })
      .strict()
      .refine((m) => (m.job === undefined) !== (m.service === undefined), {
        message: 'match needs exactly one of job or service, for example {job: payments}',
      })
      .optional(),
    /** Names of health checks (the `health_checks:` section) that probe this component. */
    checks: z.array(z.string().min(1)).default([]),
    /** Names of components this one calls or needs. */
    depends_on: z.array(z.string().min(1)).default([]),
  })
  .strict();

export type ComponentConfig = z.output<typeof componentConfigSchema>;

/** The list, with cross-checks: unique names, dependencies on declared or discovered components only. */
export const componentsSchema = z
  .array(componentConfigSchema)
  .nullish()
  .transform((v) => v ?? [])
  .superRefine((list, ctx) => {
    const seen = new Map<string, number>();
    for (const [i, c] of list.entries()) {
      const first = seen.get(c.name);
      if (first !== undefined)
        ctx.addIssue({
          code: 'custom',
          path: [i, 'name'],
          message: `component "${c.name}" is declared twice (first at index ${first})`,
        });
      else seen.set(c.name, i);
      for (const [j, d] of c.depends_on.entries())
        if (d === c.name)
          ctx.addIssue({
            code: 'custom',
            path: [i, 'depends_on', j],
            message: 'a component cannot depend on itself',
          });
    }
  });
