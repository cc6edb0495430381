/** The alerting views as entries of the view registry (ui/src/app/views.tsx). */
import { lazy } from 'react';
import type { ViewEntry } from '../../app/views.tsx';

const AlertsView = lazy(() => import('./AlertsView.tsx'));
const SilencesView = lazy(() => import('./SilencesView.tsx'));
const RulesView = lazy(() => import('./RulesView.tsx'));
const HistoryView = lazy(() => import('./HistoryView.tsx'));

export const ALERT_VIEWS: readonly ViewEntry[] = [
  {
    path: '/alerts',
    label: 'Alerts',
    matches: ['/silences', '/rules'],
    accessKey: 'a',
    component: AlertsView,
  },
  { path: '/alerts/history', component: HistoryView },
  { path: '/silences', component: SilencesView },
  { path: '/rules', component: RulesView },
];
