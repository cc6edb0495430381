/** The Health view as an entry of the view registry (ui/src/app/views.tsx). */
import { lazy } from 'react';
import type { ViewEntry } from '../../app/views.tsx';

const HealthView = lazy(() => import('./HealthView.tsx'));

export const HEALTH_VIEWS: readonly ViewEntry[] = [
  { path: '/health', label: 'Health', accessKey: 'h', component: HealthView },
];
