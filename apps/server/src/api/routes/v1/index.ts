import type { RouteModule } from '../../types.js';
import { apiKeyRoutes } from './api-keys.js';
import { authRoutes } from './auth.js';

/** Every /api/v1 resource; a new resource adds its module here. */
export const V1_ROUTES: RouteModule[] = [authRoutes, apiKeyRoutes];
