/** The incident views as entries of the view registry (ui/src/app/views.tsx). */
import { lazy } from 'react';
import type { ViewEntry } from '../../app/views.tsx';

const IncidentsView = lazy(() => import('./IncidentsView.tsx'));
const IncidentPage = lazy(() => import('./IncidentPage.tsx'));

export const INCIDENT_VIEWS: readonly ViewEntry[] = [
  {
    path: '/incidents',
    label: 'Incidents',
    matches: ['/incidents/'],
    accessKey: 'i',
    component: IncidentsView,
  },
  { path: '/incidents/:id', component: IncidentPage },
];
