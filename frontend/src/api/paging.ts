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
}

interface State<N> {
  key: string;
  generation: number;
  nodes: N[];
  totalCount: number | null;
  endCursor: string | null;
  hasMore: boolean;
  loading: boolean;
  error: ApiError | null;
}

type Action<N> =
  | { type: "reset"; key: string; generation: number }
  | { type: "loading" }
  | { type: "page"; key: string; generation: number; after: string | null; page: Page<N> }
  | { type: "error"; key: string; generation: number; error: ApiError }
  | { type: "reload" }
  | { type: "patch"; update: (node: N) => N };

function reducer<N>(state: State<N>, action: Action<N>): State<N> {
  switch (action.type) {
    case "reset":
      return { key: action.key, generation: action.generation, nodes: [], totalCount: null, endCursor: null, hasMore: false, loading: true, error: null };
    case "loading":
      return { ...state, loading: true, error: null };
    case "page":
      if (action.key !== state.key || action.generation !== state.generation) return state;
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
    case "patch":
      return { ...state, nodes: state.nodes.map(action.update) };
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
  const patch = useCallback((update: (node: N) => N) => dispatch({ type: "patch", update }), []);

  const current = state.key === key;
  return {
    nodes: current ? state.nodes : [],
    totalCount: current ? state.totalCount : null,
    hasMore: current && state.hasMore,
    loading: !current || state.loading,
    error: current ? state.error : null,
    loadMore,
    reload,
    patch,
  };
}
