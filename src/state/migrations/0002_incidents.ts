/**
 * On-call and incidents: users, teams, schedules and escalation policies as named JSON documents (their
 * cross-references are checked by the incident service, not by the database, so provisioning can replace a
 * whole set at once), incidents with their escalation state, the incident timeline and every page sent.
 * Same type rules as 0001: text, integer and bigint only; JSON as text.
 */
import type { Kysely, Migration } from 'kysely';

const DOC_TABLES = ['oncall_users', 'oncall_teams', 'oncall_schedules', 'escalation_policies'] as const;

export const migration0002: Migration = {
  async up(db: Kysely<any>): Promise<void> {
    for (const t of DOC_TABLES)
      await db.schema
        .createTable(t)
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('body', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .execute();

    await db.schema
      .createTable('incidents')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('title', 'text', (c) => c.notNull())
      .addColumn('severity', 'text', (c) => c.notNull())
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('assignee', 'text')
      .addColumn('group_id', 'text')
      .addColumn('policy_id', 'text')
      .addColumn('services', 'text', (c) => c.notNull())
      .addColumn('components', 'text', (c) => c.notNull())
      .addColumn('alerts', 'text', (c) => c.notNull())
      .addColumn('labels', 'text', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('acked_at', 'bigint')
      .addColumn('acked_by', 'text')
      .addColumn('resolved_at', 'bigint')
      .addColumn('resolved_by', 'text')
      .addColumn('esc_step', 'integer', (c) => c.notNull())
      .addColumn('esc_loop', 'integer', (c) => c.notNull())
      .addColumn('esc_next_at', 'bigint')
      .addColumn('version', 'integer', (c) => c.notNull())
      .addColumn('updated_at', 'bigint', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('incidents_created_idx').on('incidents').column('created_at').execute();
    await db.schema.createIndex('incidents_status_idx').on('incidents').column('status').execute();
    await db.schema.createIndex('incidents_group_idx').on('incidents').column('group_id').execute();

    await db.schema
      .createTable('incident_events')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('incident_id', 'text', (c) => c.notNull())
      .addColumn('seq', 'bigint', (c) => c.notNull())
      .addColumn('at', 'bigint', (c) => c.notNull())
      .addColumn('kind', 'text', (c) => c.notNull())
      .addColumn('actor', 'text', (c) => c.notNull())
      .addColumn('detail', 'text', (c) => c.notNull())
      .execute();
    await db.schema
      .createIndex('incident_events_incident_idx')
      .on('incident_events')
      .columns(['incident_id', 'at'])
      .execute();

    await db.schema
      .createTable('incident_pages')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('incident_id', 'text', (c) => c.notNull())
      .addColumn('seq', 'bigint', (c) => c.notNull())
      .addColumn('step', 'integer', (c) => c.notNull())
      .addColumn('user_id', 'text')
      .addColumn('channel', 'text', (c) => c.notNull())
      .addColumn('outcome', 'text', (c) => c.notNull())
      .addColumn('error', 'text')
      .addColumn('at', 'bigint', (c) => c.notNull())
      .execute();
    await db.schema
      .createIndex('incident_pages_incident_idx')
      .on('incident_pages')
      .columns(['incident_id', 'at'])
      .execute();
    await db.schema.createIndex('incident_pages_at_idx').on('incident_pages').column('at').execute();
  },

  async down(db: Kysely<any>): Promise<void> {
    await db.schema.dropTable('incident_pages').execute();
    await db.schema.dropTable('incident_events').execute();
    await db.schema.dropTable('incidents').execute();
    for (const t of [...DOC_TABLES].reverse()) await db.schema.dropTable(t).execute();
  },
};
