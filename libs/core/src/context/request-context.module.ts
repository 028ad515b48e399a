import { Global, Module } from '@nestjs/common';
import type { Request } from 'express';
import { ClsModule } from 'nestjs-cls';
import { RequestContext, RequestContextStore } from './request-context';

@Global()
@Module({
  imports: [
    ClsModule.forRoot({
      global: true,
      middleware: {
        mount: true,
        generateId: true,
        idGenerator: (req: Request & { id?: string }) => req.id ?? '',
        setup: (cls, req: Request & { id?: string }) => {
          const store = cls as unknown as {
            set<K extends keyof RequestContextStore>(k: K, v: RequestContextStore[K]): void;
          };
          store.set('requestId', req.id);
          store.set('ip', req.ip);
          store.set('userAgent', req.header('user-agent'));
        },
      },
    }),
  ],
  providers: [RequestContext],
  exports: [RequestContext],
})
export class RequestContextModule {}
