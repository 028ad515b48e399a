import type { NextFunction, Request, Response } from 'express';
import type { MetricsService } from './metrics.service';

/** The catch-all route Nest registers to answer 404 for unknown paths. */
const NEST_NOT_FOUND_ROUTE = '/{*path}';

/**
 * Express middleware, installed before the body parsers so every request is timed, even one
 * refused before routing. The `route` label is the matched route template
 * (`/v1/tenants/:tenantId`), never the raw URL, so label cardinality stays bounded; unmatched
 * requests share `unmatched`.
 */
export function httpMetricsMiddleware(metrics: MetricsService) {
  return (req: Request, res: Response, next: NextFunction): void => {
    const stop = metrics.httpRequestDuration.startTimer({ method: req.method });
    res.once('finish', () => {
      const template = req.route?.path ? `${req.baseUrl}${req.route.path}` : undefined;
      const route = !template || template === NEST_NOT_FOUND_ROUTE ? 'unmatched' : template;
      stop({ route, status_code: String(res.statusCode) });
    });
    next();
  };
}
