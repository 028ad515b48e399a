import './instrument';
import { bootHttpApp } from '@app/core';
import { API_HTTP_OPTIONS, AppModule } from './app.module';

bootHttpApp({
  name: 'api',
  module: (config) => AppModule.register(config),
  http: API_HTTP_OPTIONS,
  port: (config) => config.PORT,
  banner: (config) => `control-plane api listening: http://localhost:${config.PORT}/docs`,
});
