/** Small pieces the alerting views share: the tab bar between them, badges and label chips. */
import { NavLink } from 'react-router-dom';
import { severityClass, type Labels } from '../../lib/alerts.ts';

const TABS = [
  { to: '/alerts', label: 'Alerts', end: true },
  { to: '/silences', label: 'Silences' },
  { to: '/rules', label: 'Rules' },
  { to: '/alerts/history', label: 'History' },
];

export function AlertingTabs() {
  return (
    <nav className="alerting-tabs" aria-label="Alerting">
      {TABS.map((t) => (
        <NavLink key={t.to} to={t.to} end={t.end} className={({ isActive }) => (isActive ? 'active' : '')}>
          {t.label}
        </NavLink>
      ))}
    </nav>
  );
}

export function SeverityBadge({ severity }: { severity: string | undefined }) {
  return (
    <span className={`sev sev-${severityClass(severity)}`} data-severity={severity ?? ''}>
      {severity ?? 'no severity'}
    </span>
  );
}

/** Labels as `name=value` chips (text, never markup); `skip` leaves some out. */
export function LabelChips({ labels, skip = [] }: { labels: Labels; skip?: readonly string[] }) {
  return (
    <span className="label-chips">
      {Object.keys(labels)
        .filter((k) => !skip.includes(k))
        .sort()
        .map((k) => (
          <span key={k} className="lchip mono">
            <span className="lk">{k}</span>=<span className="lv">{labels[k]}</span>
          </span>
        ))}
    </span>
  );
}

/** Only http(s) links are made clickable; anything else is shown as text. */
export function safeHref(url: string): string | undefined {
  try {
    const u = new URL(url, window.location.href);
    return u.protocol === 'http:' || u.protocol === 'https:' ? u.href : undefined;
  } catch {
    return undefined;
  }
}
