/**
 * The storm-summary notification: an ordinary Alertmanager-shaped message (webhook payload version 4, the data
 * templates see) whose alerts are a correlated group's members, root-cause candidate first. Group and common
 * labels carry `vigil_storm="true"` and the group's ID; common annotations say what the summary is about.
 */
import { randomUUID } from 'node:crypto';
import type { Labels } from '../../model/labels.ts';
import { commonPairs, type NotificationMessage } from '../../notify/message.ts';
import { groupIdOf } from '../dispatch.ts';
import { isResolved, labelSetString } from '../model.ts';
import type { StoredAlert } from '../store.ts';
import { STORM_LABEL, type SummaryItem } from './stage.ts';

/** Most member lines in the `vigil_storm_reasons` annotation. */
const MAX_REASON_LINES = 20;

/** The group key of a storm summary (shown in history and sent to receivers as groupKey). */
export function summaryGroupKey(stormId: string): string {
  return `{}/vigil-storm:${labelSetString({ [STORM_LABEL]: 'true', vigil_storm_group: stormId })}`;
}

function describe(labels: Labels): string {
  const name = labels.alertname ?? '';
  const where = labels.service ?? labels.service_name ?? labels.job ?? labels.node ?? labels.instance;
  return where ? `${name} (${where})` : name || labelSetString(labels);
}

/** Builds the message for one summary item at `now`. */
export function summaryMessage(item: SummaryItem, externalURL: string, now: number): NotificationMessage {
  const groupKey = summaryGroupKey(item.stormId);
  const groupLabels: Labels = { [STORM_LABEL]: 'true', vigil_storm_group: item.stormId };
  const alerts = item.alerts;
  const firing = alerts.filter((a) => !isResolved(a, now)).length;
  const root = item.group?.rootCause;
  const lead: StoredAlert | undefined = alerts[0];
  const rootText = root ? describe(root.labels) : lead ? describe(lead.labels) : 'unknown';
  const summary =
    `Alert storm: ${item.members} alerts in one correlated group (${firing} firing); ` +
    `probable root cause ${rootText}` +
    (root ? ` (score ${root.score})` : '');
  const reasons: string[] = [];
  for (const m of item.group?.members ?? []) {
    if (reasons.length >= MAX_REASON_LINES) break;
    const why = m.reasons.map((r) => `${r.kind}: ${r.detail}`).join('; ');
    reasons.push(`${describe(m.labels)}: ${why}`);
  }
  const more = (item.group?.members.length ?? 0) - reasons.length;
  if (more > 0) reasons.push(`… and ${more} more`);
  return {
    id: randomUUID(),
    groupId: groupIdOf(groupKey),
    groupKey,
    receiver: item.receiver,
    status: firing > 0 ? 'firing' : 'resolved',
    alerts: alerts.map((a) => {
      const resolved = isResolved(a, now);
      return {
        status: resolved ? 'resolved' : 'firing',
        labels: a.labels,
        annotations: a.annotations,
        startsAt: a.startsAt,
        endsAt: resolved ? a.endsAt : undefined,
        generatorURL: a.generatorURL,
        fingerprint: a.fingerprint,
      };
    }),
    groupLabels,
    commonLabels: { ...commonPairs(alerts.map((a) => a.labels)), ...groupLabels },
    commonAnnotations: {
      ...commonPairs(alerts.map((a) => a.annotations)),
      summary,
      vigil_storm_summary: summary,
      ...(root ? { vigil_storm_root_cause: labelSetString(root.labels) } : {}),
      ...(reasons.length ? { vigil_storm_reasons: reasons.join('\n') } : {}),
    },
    externalURL,
  };
}
