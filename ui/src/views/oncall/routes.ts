/** The on-call views (schedules, escalation policies, users, teams) as entries of the view registry. */
import { lazy } from 'react';
import type { ViewEntry } from '../../app/views.tsx';

const OncallView = lazy(() => import('./OncallView.tsx'));
const SchedulePage = lazy(() => import('./SchedulePage.tsx'));
const PolicyPage = lazy(() => import('./PolicyPage.tsx'));

export const ONCALL_VIEWS: readonly ViewEntry[] = [
  {
    path: '/oncall',
    label: 'On-call',
    matches: ['/schedules/', '/escalation-policies/'],
    accessKey: 'c',
    component: OncallView,
  },
  { path: '/schedules/:id', component: SchedulePage },
  { path: '/escalation-policies/:id', component: PolicyPage },
];
