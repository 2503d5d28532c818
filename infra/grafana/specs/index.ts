import type { DashboardSpec } from '../lib/grafana';
import { modelDashboard } from './model';
import { overview } from './overview';
import { serviceDashboards } from './services';

/** Every provisioned dashboard: the mesh overview, one per service, the model. */
export const allDashboards: DashboardSpec[] = [overview, ...serviceDashboards, modelDashboard];
