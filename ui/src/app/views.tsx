/**
 * The views of the application. Navigation and routes are both built from this list, so a later view
 * (traces, alerts, incidents, health) plugs in by adding one entry; nothing appears in the menu before it
 * exists.
 */
import { lazy, type ComponentType, type LazyExoticComponent } from 'react';
import { OverviewView } from '../views/overview/OverviewView.tsx';
import { TRACE_VIEWS } from '../views/traces/routes.ts';
import { ALERT_VIEWS } from '../views/alerts/routes.ts';
import { HEALTH_VIEWS } from '../views/health/routes.ts';
import { INCIDENT_VIEWS } from '../views/incidents/routes.ts';
import { ONCALL_VIEWS } from '../views/oncall/routes.ts';

export interface ViewEntry {
  /** Route path (react-router syntax). */
  readonly path: string;
  /** Menu label; entries without one are routes only (detail pages). */
  readonly label?: string;
  /** Paths whose pages highlight this menu entry. */
  readonly matches?: readonly string[];
  /** Access key for keyboard users (Alt+key in most browsers). */
  readonly accessKey?: string;
  readonly component: ComponentType | LazyExoticComponent<ComponentType>;
}

const ExploreView = lazy(() => import('../views/explore/ExploreView.tsx'));
const DashboardList = lazy(() => import('../views/dashboards/DashboardList.tsx'));
const DashboardPage = lazy(() => import('../views/dashboards/DashboardPage.tsx'));

export const VIEWS: readonly ViewEntry[] = [
  { path: '/', label: 'Overview', accessKey: 'o', component: OverviewView },
  { path: '/explore', label: 'Explore', accessKey: 'e', component: ExploreView },
  { path: '/dashboards', label: 'Dashboards', matches: ['/d/'], accessKey: 'd', component: DashboardList },
  { path: '/d/:uid', component: DashboardPage },
  ...TRACE_VIEWS,
  ...ALERT_VIEWS,
  ...HEALTH_VIEWS,
  ...INCIDENT_VIEWS,
  ...ONCALL_VIEWS,
];
