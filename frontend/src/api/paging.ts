// Cursor pagination for Relay connections: pages appended as the reader
// asks for more, started over whenever the key (filters) changes.
import { useCallback, useEffect, useReducer } from "react";
import type { ApiError } from "./errors";

export interface Page<N> {
  nodes: N[];
  totalCount: number;
  endCursor: string | null;
  hasMore: boolean;
}

export interface Pages<N> {
  nodes: N[];
  totalCount: number | null;
  hasMore: boolean;
  loading: boolean;
  error: ApiError | null;
  loadMore: () => void;
  reload: () => void;
  /** Replaces loaded nodes that match (a live update); others are untouched. */
  patch: (update: (node: N) => N) => void;
  /** Takes loaded nodes out of the list (they no longer match its filter) and off the count. */
  drop: (gone: (node: N) => boolean) => void;
  /** Loads the first page again, keeping what is shown until it arrives (a live update). */
  refresh: () => void;
  /** Puts nodes that just arrived (newest first) on top, skipping ones already listed, and counts them. */
  prepend: (nodes: N[], id: (node: N) => string) => void;
}

export interface State<N> {
  key: string;
  generation: number;
  nodes: N[];
  totalCount: number | null;
  endCursor: string | null;
  hasMore: boolean;
  loading: boolean;
  error: ApiError | null;
  /** The next first page replaces the shown nodes instead of starting from empty. */
  soft?: boolean;
}

type Action<N> =
  | { type: "reset"; key: string; generation: number }
  | { type: "loading" }
  | { type: "page"; key: string; generation: number; after: string | null; page: Page<N> }
  | { type: "error"; key: string; generation: number; error: ApiError }
  | { type: "reload" }
  | { type: "refresh" }
  | { type: "drop"; gone: (node: N) => boolean }
  | { type: "patch"; update: (node: N) => N }
  | { type: "prepend"; nodes: N[]; id: (node: N) => string };

export function reducer<N>(state: State<N>, action: Action<N>): State<N> {
  switch (action.type) {
    case "reset":
      if (state.soft && state.key === action.key) return { ...state, generation: action.generation, loading: true, error: null };
      return { key: action.key, generation: action.generation, nodes: [], totalCount: null, endCursor: null, hasMore: false, loading: true, error: null };
    case "loading":
      return { ...state, loading: true, error: null };
    case "page":
      if (action.key !== state.key || action.generation !== state.generation) return state;
      if (state.soft && action.after === null) {
        return { ...state, soft: false, nodes: action.page.nodes, totalCount: action.page.totalCount, endCursor: action.page.endCursor, hasMore: action.page.hasMore, loading: false };
      }
      // A page that does not continue what is loaded is a repeat (effects run
      // twice in development): appending it would list rows twice.
      if (action.after === null ? state.nodes.length > 0 : action.after !== state.endCursor) return state;
      return {
        ...state,
        nodes: state.nodes.concat(action.page.nodes),
        totalCount: action.page.totalCount,
        endCursor: action.page.endCursor,
        hasMore: action.page.hasMore,
        loading: false,
      };
    case "error":
      if (action.key !== state.key || action.generation !== state.generation) return state;
      return { ...state, loading: false, error: action.error };
    case "reload":
      return { ...state, generation: state.generation + 1 };
    case "refresh":
      return { ...state, generation: state.generation + 1, soft: true };
    case "patch":
      return { ...state, nodes: state.nodes.map(action.update) };
    case "drop": {
      const nodes = state.nodes.filter((n) => !action.gone(n));
      if (nodes.length === state.nodes.length) return state;
      return { ...state, nodes, totalCount: state.totalCount === null ? null : Math.max(0, state.totalCount - (state.nodes.length - nodes.length)) };
    }
    case "prepend": {
      // Before the first page there is nothing to put them on: the page will include them.
      if (state.totalCount === null) return state;
      const seen = new Set(state.nodes.map(action.id));
      const fresh = action.nodes.filter((n) => {
        const k = action.id(n);
        if (seen.has(k)) return false;
        seen.add(k);
        return true;
      });
      if (fresh.length === 0) return state;
      return { ...state, nodes: fresh.concat(state.nodes), totalCount: state.totalCount + fresh.length };
    }
  }
}

/**
 * Loads a connection page by page. `load` must depend only on what `key`
 * describes; it is called with the cursor to continue from.
 */
export function useCursorPages<N>(key: string, load: (after: string | null) => Promise<Page<N> | ApiError>): Pages<N> {
  const [state, dispatch] = useReducer(reducer<N>, {
    key: "",
    generation: 0,
    nodes: [],
    totalCount: null,
    endCursor: null,
    hasMore: false,
    loading: true,
    error: null,
  });
  const generation = state.generation;

  const fetchPage = useCallback(
    (k: string, g: number, after: string | null) => {
      void load(after).then((res) => {
        if ("nodes" in res) dispatch({ type: "page", key: k, generation: g, after, page: res });
        else dispatch({ type: "error", key: k, generation: g, error: res });
      });
    },
    [load],
  );

  useEffect(() => {
    dispatch({ type: "reset", key, generation });
    fetchPage(key, generation, null);
    // load changes with key; key and generation decide when to start over.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [key, generation]);

  const { loading, hasMore, endCursor } = state;
  const stateKey = state.key;
  const loadMore = useCallback(() => {
    if (loading || !hasMore) return;
    dispatch({ type: "loading" });
    fetchPage(stateKey, generation, endCursor);
  }, [loading, hasMore, endCursor, stateKey, generation, fetchPage]);
  const reload = useCallback(() => dispatch({ type: "reload" }), []);
  const refresh = useCallback(() => dispatch({ type: "refresh" }), []);
  const drop = useCallback((gone: (node: N) => boolean) => dispatch({ type: "drop", gone }), []);
  const patch = useCallback((update: (node: N) => N) => dispatch({ type: "patch", update }), []);
  const prepend = useCallback((nodes: N[], id: (node: N) => string) => dispatch({ type: "prepend", nodes, id }), []);

  const current = state.key === key;
  return {
    nodes: current ? state.nodes : [],
    totalCount: current ? state.totalCount : null,
    hasMore: current && state.hasMore,
    loading: !current || state.loading,
    error: current ? state.error : null,
    loadMore,
    reload,
    refresh,
    drop,
    patch,
    prepend,
  };
}
