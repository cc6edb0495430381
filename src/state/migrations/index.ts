/**
 * Every state-store migration, in order. Names are zero-padded so Kysely's lexical ordering is the intended
 * one; a released migration is never edited, only followed by a new one.
 */
import type { Migration, MigrationProvider } from 'kysely';
import { migration0001 } from './0001_initial.ts';
import { migration0002 } from './0002_incidents.ts';

const MIGRATIONS: Record<string, Migration> = {
  '0001_initial': migration0001,
  '0002_incidents': migration0002,
};

/** Provides the migrations compiled into Vigil (no directory scanning, so bundling cannot lose any). */
export const migrationProvider: MigrationProvider = {
  getMigrations: () => Promise.resolve({ ...MIGRATIONS }),
};
