// The processing pipeline: its live status, replays (one event, or every
// event matching a filter as a background job) and job progress.
import { createContext, useContext, useEffect, useState } from "react";
import { useClient, useMutation } from "urql";
import { graphql } from "../gql";
import type { JobFieldsFragment, SystemStatusFieldsFragment } from "../gql/graphql";
import { apiErrorFromCombined, type ApiError } from "./errors";

export const SystemStatusFields = graphql(`
  fragment SystemStatusFields on SystemStatus {
    breaker
    queueDepth
    processing
    deadLettered
    oldestQueuedAt
    oldestQueuedAgeSeconds
    workersBusy
    workers
    eventsInPerSecond
    eventsOutPerSecond
    measuredAt
    instance
    schedulerLeader
    liveSubscribers
  }
`);

export const SystemStatusSubscription = graphql(`
  subscription SystemStatusStream {
    systemStatus {
      ...SystemStatusFields
    }
  }
`);

export const JobFields = graphql(`
  fragment JobFields on Job {
    id
    kind
    status
    description
    total
    done
    failed
    stage
    error
    createdBy
    cancelRequested
    createdAt
    startedAt
    finishedAt
  }
`);

export const JobProgressSubscription = graphql(`
  subscription JobProgress($id: ID!) {
    jobProgress(id: $id) {
      ...JobFields
    }
  }
`);

export const ReplayEventMutation = graphql(`
  mutation ReplayEvent($id: ID!) {
    replayEvent(id: $id) {
      id
      processingState
      attempts
      nextAttemptAt
      lastError
      processedAt
    }
  }
`);

export const ReplayEventsMutation = graphql(`
  mutation ReplayEvents($where: WebhookEventWhereInput!) {
    replayEvents(where: $where) {
      ...JobFields
    }
  }
`);

export const CancelJobMutation = graphql(`
  mutation CancelJob($id: ID!) {
    cancelJob(id: $id) {
      ...JobFields
    }
  }
`);

export interface SystemStatusState {
  status: SystemStatusFieldsFragment | null;
  error: ApiError | null;
}

export const SystemStatusContext = createContext<SystemStatusState>({ status: null, error: null });

/** The pipeline status the shell subscribes to once for every page. */
export function useSystemStatus(): SystemStatusState {
  return useContext(SystemStatusContext);
}

/** Subscribes to systemStatus: the server pushes it every second and at once on a breaker change. */
export function useSystemStatusStream(): SystemStatusState {
  const client = useClient();
  const [state, setState] = useState<SystemStatusState>({ status: null, error: null });
  useEffect(() => {
    const sub = client.subscription(SystemStatusSubscription, {}).subscribe((result) => {
      if (result.error) setState((s) => ({ ...s, error: apiErrorFromCombined(result.error as NonNullable<typeof result.error>) }));
      else if (result.data) setState({ status: result.data.systemStatus, error: null });
    });
    return () => sub.unsubscribe();
  }, [client]);
  return state;
}

export function jobEnded(job: Pick<JobFieldsFragment, "status">): boolean {
  return job.status !== "pending" && job.status !== "running";
}

/** Follows a job through jobProgress until it ends. */
export function useJobProgress(initial: JobFieldsFragment | null): { job: JobFieldsFragment | null; error: ApiError | null } {
  const client = useClient();
  const [state, setState] = useState<{ job: JobFieldsFragment | null; error: ApiError | null; id: string | null }>({
    job: initial,
    error: null,
    id: initial?.id ?? null,
  });
  const id = initial?.id ?? null;
  useEffect(() => {
    if (!id) return;
    const sub = client.subscription(JobProgressSubscription, { id }).subscribe((result) => {
      if (result.error) setState((s) => ({ ...s, error: apiErrorFromCombined(result.error as NonNullable<typeof result.error>) }));
      else if (result.data) setState({ id, job: result.data.jobProgress, error: null });
    });
    return () => sub.unsubscribe();
  }, [client, id]);
  if (state.id !== id) return { job: initial, error: null };
  return { job: state.job ?? initial, error: state.error };
}

export function useReplayEvent() {
  return useMutation(ReplayEventMutation);
}

export function useReplayEvents() {
  return useMutation(ReplayEventsMutation);
}

export function useCancelJob() {
  return useMutation(CancelJobMutation);
}
