/**
 * The data notification templates see, shaped like Alertmanager's `template.Data`: `.Receiver`, `.Status`,
 * `.Alerts` (with `.Firing` / `.Resolved`), `.GroupLabels`, `.CommonLabels`, `.CommonAnnotations`,
 * `.ExternalURL`, and per alert `.Status`, `.Labels`, `.Annotations`, `.StartsAt`, `.EndsAt`,
 * `.GeneratorURL`, `.Fingerprint`. Label maps have `SortedPairs`, `Names`, `Values` and `Remove`.
 */
import type { Labels } from '../model/labels.ts';
import type { NotificationMessage, NotifyAlert } from './message.ts';
import { GoTime, METHODS } from './template.ts';

interface Pair {
  Name: string;
  Value: string;
}

/** A label map with Alertmanager's KV methods; fields are the labels themselves. */
export function kv(labels: Labels): Record<string, string> {
  const out: Record<string, string> = { ...labels };
  const names = () => Object.keys(labels).sort();
  const pairs = (): Pair[] & { [METHODS]?: unknown } => {
    const list: Pair[] = names().map((n) => ({ Name: n, Value: labels[n]! }));
    Object.defineProperty(list, METHODS, {
      value: { Names: () => list.map((p) => p.Name), Values: () => list.map((p) => p.Value) },
    });
    return list;
  };
  Object.defineProperty(out, METHODS, {
    enumerable: false,
    value: {
      SortedPairs: pairs,
      Names: names,
      Values: () => names().map((n) => labels[n]!),
      Remove: (drop: unknown) => {
        const skip = new Set(Array.isArray(drop) ? drop.map(String) : []);
        const rest: Record<string, string> = {};
        for (const [k, v] of Object.entries(labels)) if (!skip.has(k)) rest[k] = v;
        return kv(rest);
      },
    },
  });
  return out;
}

export interface TemplateAlert {
  Status: string;
  Labels: Record<string, string>;
  Annotations: Record<string, string>;
  StartsAt: GoTime;
  EndsAt: GoTime;
  GeneratorURL: string;
  Fingerprint: string;
}

function alertList(list: TemplateAlert[]): TemplateAlert[] {
  Object.defineProperty(list, METHODS, {
    value: {
      Firing: () => alertList(list.filter((a) => a.Status === 'firing')),
      Resolved: () => alertList(list.filter((a) => a.Status === 'resolved')),
    },
  });
  return list;
}

function templateAlert(a: NotifyAlert): TemplateAlert {
  return {
    Status: a.status,
    Labels: kv(a.labels),
    Annotations: kv(a.annotations),
    StartsAt: new GoTime(a.startsAt),
    EndsAt: new GoTime(a.endsAt ?? -62135596800000),
    GeneratorURL: a.generatorURL,
    Fingerprint: a.fingerprint,
  };
}

export interface TemplateData {
  Receiver: string;
  Status: string;
  Alerts: TemplateAlert[];
  GroupLabels: Record<string, string>;
  CommonLabels: Record<string, string>;
  CommonAnnotations: Record<string, string>;
  ExternalURL: string;
  GroupKey: string;
}

export function templateData(msg: NotificationMessage): TemplateData {
  return {
    Receiver: msg.receiver,
    Status: msg.status,
    Alerts: alertList(msg.alerts.map(templateAlert)),
    GroupLabels: kv(msg.groupLabels),
    CommonLabels: kv(msg.commonLabels),
    CommonAnnotations: kv(msg.commonAnnotations),
    ExternalURL: msg.externalURL,
    GroupKey: msg.groupKey,
  };
}
