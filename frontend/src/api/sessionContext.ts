import { createContext, useContext } from "react";
import type { Session } from "./session";

export const SessionContext = createContext<Session | null>(null);

/** The signed-in session; only used below the shell, which guarantees one. */
export function useSession(): Session {
  const s = useContext(SessionContext);
  if (!s) throw new Error("useSession outside the signed-in shell");
  return s;
}

export function useIsAdmin(): boolean {
  return useSession().role === "admin";
}
