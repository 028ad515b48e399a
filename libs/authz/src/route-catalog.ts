import { Injectable } from '@nestjs/common';
import { PATH_METADATA, METHOD_METADATA } from '@nestjs/common/constants';
import { RequestMethod } from '@nestjs/common';
import { DiscoveryService, MetadataScanner, Reflector } from '@nestjs/core';
import { IS_PUBLIC } from '@app/core';
import { POLICY_METADATA, RoutePolicy } from './policy.decorators';

export interface RouteEntry {
  method: string;
  path: string;
  /** `public`, or the declared policy as `action Subject (scope)`. */
  access: 'public' | RoutePolicy | 'undeclared';
  controller: string;
  handler: string;
}

function joinPath(...parts: (string | string[] | undefined)[]): string {
  const segments = parts
    .map((part) => (Array.isArray(part) ? part[0] : part) ?? '')
    .flatMap((part) => part.split('/'))
    .filter(Boolean);
  return `/${segments.join('/')}`;
}

/**
 * Every route of the app with its declared access, read from the same decorators the guard
 * uses. Feeds the boot check (no undeclared route), the route snapshot and the authorization
 * matrix tests.
 */
@Injectable()
export class RouteCatalog {
  constructor(
    private readonly discovery: DiscoveryService,
    private readonly scanner: MetadataScanner,
    private readonly reflector: Reflector,
  ) {}

  routes(): RouteEntry[] {
    const entries: RouteEntry[] = [];
    for (const wrapper of this.discovery.getControllers()) {
      const { instance, metatype } = wrapper;
      if (!instance || !metatype) continue;
      const prefix = Reflect.getMetadata(PATH_METADATA, metatype) as string | string[] | undefined;
      const prototype = Object.getPrototypeOf(instance);
      for (const name of this.scanner.getAllMethodNames(prototype)) {
        const handler = prototype[name];
        const path = Reflect.getMetadata(PATH_METADATA, handler) as string | string[] | undefined;
        const method = Reflect.getMetadata(METHOD_METADATA, handler) as RequestMethod | undefined;
        if (path === undefined || method === undefined) continue;
        const targets = [handler, metatype];
        const isPublic = this.reflector.getAllAndOverride<boolean>(IS_PUBLIC, targets);
        const policy = this.reflector.getAllAndOverride<RoutePolicy | undefined>(
          POLICY_METADATA,
          targets,
        );
        entries.push({
          method: RequestMethod[method],
          path: joinPath(prefix, path),
          access: isPublic ? 'public' : (policy ?? 'undeclared'),
          controller: metatype.name,
          handler: name,
        });
      }
    }
    return entries.sort((a, b) => a.path.localeCompare(b.path) || a.method.localeCompare(b.method));
  }
}
