/** Errors raised at the operational-state store boundary. Callers map them to HTTP statuses. */

/** Base class: any failure of the state store. Driver errors are wrapped with `{ cause }`. */
export class StateStoreError extends Error {
  override name = 'StateStoreError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** The addressed record does not exist (HTTP 404). */
export class NotFoundError extends StateStoreError {
  override name = 'NotFoundError';
  constructor(
    readonly kind: string,
    readonly id: string,
  ) {
    super(`${kind} ${JSON.stringify(id)} not found`);
  }
}

/** An update carried a stale version: someone else saved in between (HTTP 409/412). Reload and retry. */
export class VersionConflictError extends StateStoreError {
  override name = 'VersionConflictError';
  constructor(
    readonly kind: string,
    readonly id: string,
    readonly expectedVersion: number,
    readonly actualVersion: number,
  ) {
    super(
      `${kind} ${JSON.stringify(id)} was changed by someone else: expected version ${expectedVersion}, ` +
        `current version is ${actualVersion}; reload it and apply your change again`,
    );
  }
}

/** A record with the same unique key already exists (HTTP 409). */
export class AlreadyExistsError extends StateStoreError {
  override name = 'AlreadyExistsError';
  constructor(
    readonly kind: string,
    readonly id: string,
  ) {
    super(`${kind} ${JSON.stringify(id)} already exists`);
  }
}

/** The caller's input is invalid; the message says which field and what is expected (HTTP 400). */
export class InvalidInputError extends StateStoreError {
  override name = 'InvalidInputError';
}
