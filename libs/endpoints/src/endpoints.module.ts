import { APP_CONFIG, AppConfig } from '@app/core';
import { TenancyCoreModule } from '@app/tenancy';
import { BullModule } from '@nestjs/bullmq';
import { Global, Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { CatalogModel } from './catalog/catalog-model.entity';
import { CatalogController } from './catalog/catalog.controller';
import { CatalogService } from './catalog/catalog.service';
import { Endpoint, EndpointEventRecord } from './endpoints/endpoint.entity';
import { EndpointDirectory } from './endpoints/endpoint-directory';
import { EndpointService } from './endpoints/endpoint.service';
import { EndpointsController } from './endpoints/endpoints.controller';
import { ENDPOINTS_QUEUE } from './endpoints.constants';
import { ENDPOINT_PROVIDER } from './providers/endpoint-provider';
import { KubernetesProvider } from './providers/kubernetes';
import { LocalProvider } from './providers/local/local.provider';
import { EndpointReconciler } from './reconciler/endpoint-reconciler';
import {
  EndpointReconcileProcessor,
  EndpointReconcileScheduler,
} from './reconciler/endpoint-reconcile.processor';
import { ReconcileKick } from './reconciler/reconcile-kick';

/**
 * Endpoints' core for every process: the catalog, the endpoint service and the `endpoints`
 * queue its changes kick. Global, so the gateway and fine-tuning inject them directly.
 */
@Global()
@Module({
  imports: [
    TenancyCoreModule,
    TypeOrmModule.forFeature([CatalogModel, Endpoint, EndpointEventRecord]),
    BullModule.registerQueue({ name: ENDPOINTS_QUEUE }),
  ],
  providers: [CatalogService, EndpointService, EndpointDirectory, ReconcileKick],
  exports: [CatalogService, EndpointService, EndpointDirectory, ReconcileKick, BullModule],
})
export class EndpointsCoreModule {}

/** The endpoints API: `/v1/catalog/models` and `/v1/tenants/{tenantId}/endpoints`. */
@Module({
  imports: [EndpointsCoreModule],
  controllers: [CatalogController, EndpointsController],
})
export class EndpointsModule {}

/** Endpoints in the worker: the provider, the reconciler, its queue processor and sweep. */
@Module({
  imports: [EndpointsCoreModule],
  providers: [
    LocalProvider,
    {
      provide: ENDPOINT_PROVIDER,
      inject: [APP_CONFIG, LocalProvider],
      useFactory: (config: AppConfig, local: LocalProvider) =>
        config.ENDPOINT_PROVIDER === 'kubernetes'
          ? new KubernetesProvider({
              namespaceTemplate: config.KUBERNETES_NAMESPACE,
              createNamespaces: config.KUBERNETES_CREATE_NAMESPACES,
              image: config.KUBERNETES_VLLM_IMAGE,
              modelsVolumeClaim: config.KUBERNETES_MODELS_PVC,
              modelSources: config.KUBERNETES_MODEL_SOURCES,
              gpuProducts: config.KUBERNETES_GPU_PRODUCTS,
            })
          : local,
    },
    EndpointReconciler,
    EndpointReconcileProcessor,
    EndpointReconcileScheduler,
  ],
  exports: [EndpointReconciler, ENDPOINT_PROVIDER],
})
export class EndpointsWorkerModule {}
