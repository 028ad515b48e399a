import { useQuery } from '@tanstack/react-query';
import { Navigate, Route, Routes, useLocation } from 'react-router-dom';
import { ApiError, api, Me } from './api';
import { ErrorState, Loading } from './components/states';
import { Layout } from './components/layout';
import { ApiKeysPage } from './pages/api-keys';
import { AuditLogPage } from './pages/audit-log';
import { AuditReportsPage } from './pages/audit-reports';
import { ContractEditorPage } from './pages/contract-editor';
import { EndpointPage, EndpointsPage } from './pages/endpoints';
import { FineTuningJobPage, FineTuningJobsPage } from './pages/fine-tuning';
import { NotFoundPage } from './pages/not-found';
import { SignInPage } from './pages/sign-in';
import { SlaPage } from './pages/sla';
import { SsoSetupPage } from './pages/sso-setup';
import { TenantPage } from './pages/tenant';
import { TenantsPage } from './pages/tenants';
import { UsersPage } from './pages/users';
import { SessionContext, useSession, useSessionOf } from './session';

export function App() {
  return (
    <Routes>
      <Route path="/sign-in" element={<SignInPage />} />
      <Route path="*" element={<SignedIn />} />
    </Routes>
  );
}

/** Every page but sign-in: needs a session (`GET /v1/me`); without one, off to sign-in. */
function SignedIn() {
  const location = useLocation();
  const me = useQuery({ queryKey: ['me'], queryFn: () => api.get<Me>('/v1/me') });
  if (me.isPending) return <Loading label="Checking your session…" />;
  if (me.error) {
    if (me.error instanceof ApiError && me.error.status === 401) {
      const next = `${location.pathname}${location.search}`;
      return <Navigate to={`/sign-in?next=${encodeURIComponent(next)}`} replace />;
    }
    return <ErrorState error={me.error} what="your session" />;
  }
  return <WithSession me={me.data} />;
}

function WithSession({ me }: { me: Me }) {
  const session = useSessionOf(me);
  return (
    <SessionContext.Provider value={session}>
      <Layout>
        <Routes>
          <Route index element={<Home />} />
          <Route path="tenants" element={<TenantsPage />} />
          <Route path="tenants/:tenantId" element={<TenantPage />} />
          <Route path="tenants/:tenantId/contracts/new" element={<ContractEditorPage />} />
          <Route path="tenants/:tenantId/contracts/:contractId" element={<ContractEditorPage />} />
          <Route path="tenants/:tenantId/audit" element={<AuditLogPage />} />
          <Route path="tenants/:tenantId/audit/reports" element={<AuditReportsPage />} />
          <Route path="tenants/:tenantId/sso" element={<SsoSetupPage />} />
          <Route path="tenants/:tenantId/api-keys" element={<ApiKeysPage />} />
          <Route path="tenants/:tenantId/users" element={<UsersPage />} />
          <Route path="tenants/:tenantId/endpoints" element={<EndpointsPage />} />
          <Route path="tenants/:tenantId/endpoints/:endpointId" element={<EndpointPage />} />
          <Route path="tenants/:tenantId/fine-tuning" element={<FineTuningJobsPage />} />
          <Route path="tenants/:tenantId/fine-tuning/:jobId" element={<FineTuningJobPage />} />
          <Route path="tenants/:tenantId/sla" element={<SlaPage />} />
          <Route path="*" element={<NotFoundPage />} />
        </Routes>
      </Layout>
    </SessionContext.Provider>
  );
}

/** Staff start at their tenants; a tenant's people at their own tenant. */
function Home() {
  const { me } = useSession();
  return <Navigate to={me.tenantId ? `/tenants/${me.tenantId}` : '/tenants'} replace />;
}
