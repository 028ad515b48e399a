import { createMongoAbility, MongoAbility, subject as asSubject } from '@casl/ability';
import { createContext, useContext, useMemo } from 'react';
import type { Me } from './api';

/** Who is signed in and what the API lets them do (its CASL rules, from `GET /v1/me`). */
export interface Session {
  me: Me;
  /** Whether the API would allow `action` on `subject` of `tenantId`; the console shows only that. */
  can(action: string, subject: string, tenantId: string): boolean;
  /** Operator staff (no home tenant). */
  staff: boolean;
}

export const SessionContext = createContext<Session | null>(null);

export function useSession(): Session {
  const session = useContext(SessionContext);
  if (!session) throw new Error('useSession outside a signed-in page');
  return session;
}

export function useSessionOf(me: Me): Session {
  return useMemo(() => {
    // The server's rules, evaluated as the server does (record-level: the tenant in question).
    const ability: MongoAbility = createMongoAbility(me.permissions as never);
    return {
      me,
      staff: me.tenantId === null,
      can: (action, subject, tenantId) =>
        ability.can(
          action,
          asSubject(subject, subject === 'Tenant' ? { id: tenantId, tenantId } : { tenantId }),
        ),
    };
  }, [me]);
}
