import { describe, expect, it } from 'vitest';
import { templateData } from './data.ts';
import { DEFAULT_TEMPLATES } from './defaults.ts';
import type { NotificationMessage } from './message.ts';
import { NotifyTemplateError, TemplateSet } from './template.ts';

const msg: NotificationMessage = {
  id: 'n',
  groupId: 'g',
  groupKey: '{}:{alertname="DiskFull"}',
  receiver: 'team x',
  status: 'firing',
  alerts: [
    {
      status: 'firing',
      labels: { alertname: 'DiskFull', instance: 'db1', severity: 'critical' },
      annotations: { summary: 'disk <full>' },
      startsAt: Date.parse('2026-02-03T04:05:06Z'),
      endsAt: undefined,
      generatorURL: 'http://prom/g',
      fingerprint: 'f1',
    },
    {
      status: 'resolved',
      labels: { alertname: 'DiskFull', instance: 'db2', severity: 'critical' },
      annotations: {},
      startsAt: Date.parse('2026-02-03T04:00:00Z'),
      endsAt: Date.parse('2026-02-03T04:05:00Z'),
      generatorURL: '',
      fingerprint: 'f2',
    },
  ],
  groupLabels: { alertname: 'DiskFull' },
  commonLabels: { alertname: 'DiskFull', severity: 'critical' },
  commonAnnotations: {},
  externalURL: 'http://vigil:9093',
};

const set = () => new TemplateSet().add(DEFAULT_TEMPLATES, 'default.tmpl');
const data = templateData(msg);

describe('notification templates', () => {
  it.each([
    ['{{ .Status }} {{ .Receiver }}', 'firing team x'],
    ['{{ len .Alerts }}/{{ .Alerts.Firing | len }}/{{ len .Alerts.Resolved }}', '2/1/1'],
    ['{{ range .Alerts }}{{ .Labels.instance }} {{ end }}', 'db1 db2 '],
    ['{{ .CommonLabels.SortedPairs.Names | join "," }}', 'alertname,severity'],
    ['{{ (.CommonLabels.Remove .GroupLabels.Names).Values | join "," }}', 'critical'],
    ['{{ range $i, $a := .Alerts }}{{ $i }}={{ $a.Fingerprint }};{{ end }}', '0=f1;1=f2;'],
    ['{{ with index .Alerts 0 }}{{ .StartsAt.Format "2006-01-02 15:04" }}{{ end }}', '2026-02-03 04:05'],
    ['{{ if eq .Status "firing" }}A{{ else if eq .Status "resolved" }}B{{ end }}', 'A'],
    [
      '{{ "abc" | toUpper }} {{ title "hello world" }} {{ reReplaceAll "(d)b" "x$1" "db1" }}',
      'ABC Hello World xd1',
    ],
    ['{{ define "x" }}[{{ . }}]{{ end }}{{ template "x" .Status }}', '[firing]'],
    ['{{ printf "%s has %d" .Receiver 3 }}', 'team x has 3'],
    [
      '{{- range .Alerts }}{{ if eq .Status "resolved" }}{{ break }}{{ end }}{{ .Fingerprint }}{{ end -}}',
      'f1',
    ],
  ])('%s', (src, want) => {
    expect(set().expand(src, data)).toBe(want);
  });

  it("renders Alertmanager's default subject", () => {
    expect(set().execute('__subject', data)).toBe('[FIRING:1] DiskFull (critical)');
    expect(set().execute('slack.default.titlelink', data)).toBe('http://vigil:9093/#/alerts?receiver=team+x');
    expect(set().execute('__text_alert_list', data.Alerts)).toContain(' - instance = db1\n');
  });

  it('escapes values in HTML bodies', () => {
    expect(set().expandHtml('<b>{{ (index .Alerts 0).Annotations.summary }}</b>', data)).toBe(
      '<b>disk &lt;full&gt;</b>',
    );
    expect(set().execute('email.default.html', data)).toContain('2 alerts for alertname=DiskFull');
  });

  it.each(['{{ .Status', '{{ nosuch 1 }}', '{{ if .Status }}x', '{{ template "missing" . }}'])(
    'fails clearly on %s',
    (src) => {
      expect(() => set().expand(src, data)).toThrow(NotifyTemplateError);
    },
  );
});
