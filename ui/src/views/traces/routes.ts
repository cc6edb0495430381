/** The tracing views as entries of the view registry (ui/src/app/views.tsx). */
import { lazy } from 'react';
import type { ViewEntry } from '../../app/views.tsx';

const TraceSearchView = lazy(() => import('./TraceSearchView.tsx'));
const TraceView = lazy(() => import('./TraceView.tsx'));
const CompareView = lazy(() => import('./CompareView.tsx'));
const ServiceMapView = lazy(() => import('./ServiceMapView.tsx'));

export const TRACE_VIEWS: readonly ViewEntry[] = [
  { path: '/traces', label: 'Traces', accessKey: 't', component: TraceSearchView },
  // A fixed segment ranks above a parameter in react-router, so "compare" is never taken for a trace ID.
  { path: '/traces/compare', component: CompareView },
  { path: '/traces/:id', component: TraceView },
  { path: '/service-map', label: 'Service map', accessKey: 'm', component: ServiceMapView },
];
