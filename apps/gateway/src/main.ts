import './instrument';
import { bootHttpApp } from '@app/core';
import { GATEWAY_HTTP_OPTIONS, GatewayModule } from './gateway.module';

bootHttpApp({
  name: 'gateway',
  module: (config) => GatewayModule.register(config),
  http: GATEWAY_HTTP_OPTIONS,
  port: (config) => config.GATEWAY_PORT,
  banner: (config) => `control-plane gateway listening: http://localhost:${config.GATEWAY_PORT}/v1`,
});
