/**
 * What a journaled run is doing now, as `mcpflow runs` and `mcpflow show` say it. The journal
 * stores `running` for every unfinished run; this module tells them apart from what the journal
 * knows: a run parked on a durable wait (its last `StepWaiting` is still open) is `waiting` (for a
 * signal) or `sleeping` (until a time), whoever owns it; any other unfinished run is `running`
 * while its owner lives (its pid answers on this host and its heartbeat is fresh) and `crashed`
 * when it does not.
 *
 * @example
 * ```ts
 * import { runStatus } from "./RunStatus.ts"
 * runStatus(record, events, { now: Date.now(), host: "ci-7", alive: () => false }).status // => "crashed"
 * ```
 * @module
 */
import { hostname } from "node:os"
import type { FlowEvent } from "../../../dsl/flow/FlowEvents.ts"
import type { RunOwner, RunRecord } from "../../../dsl/ports/RunJournal.ts"

/**
 * A run's status as the history shows it.
 *
 * @example
 * ```ts
 * const s: RunStatus = "waiting"
 * ```
 */
export type RunStatus = "running" | "sleeping" | "waiting" | "crashed" | "cancelled" | "interrupted" | "succeeded" | "failed"

/**
 * Every {@link RunStatus}, for `--status` and its help.
 *
 * @example
 * ```ts
 * runStatuses.includes("crashed") // => true
 * ```
 */
export const runStatuses = [
  "running",
  "sleeping",
  "waiting",
  "crashed",
  "cancelled",
  "interrupted",
  "succeeded",
  "failed"
] as const satisfies ReadonlyArray<RunStatus>

/**
 * A run's status with what a parked run waits for.
 *
 * @example
 * ```ts
 * const v: StatusView = { status: "waiting", waitingFor: "approval", step: "wait:approval" }
 * ```
 */
export interface StatusView {
  readonly status: RunStatus
  /** The step that waits (parked runs). */
  readonly step?: string | undefined
  /** The signal a `waiting` run waits for. */
  readonly waitingFor?: string | undefined
  /** When a `sleeping` run wakes (epoch ms). */
  readonly until?: number | undefined
}

/** How old a heartbeat may be before its owner counts as gone (the owner beats every 2 s). */
export const heartbeatTimeoutMs = 15_000

/**
 * What a liveness check needs: the time, this host's name, and whether a local pid is alive.
 *
 * @example
 * ```ts
 * const probe: Liveness = { now: Date.now(), host: "ci-7", alive: (pid) => pid === process.pid }
 * ```
 */
export interface Liveness {
  readonly now: number
  readonly host: string
  readonly alive: (pid: number) => boolean
}

/**
 * This process's view of liveness: the clock, `os.hostname()`, and `process.kill(pid, 0)`.
 *
 * @example
 * ```ts
 * runStatus(record, events, localLiveness())
 * ```
 */
export const localLiveness = (): Liveness => ({
  now: Date.now(),
  host: hostname(),
  alive: (pid) => {
    try {
      process.kill(pid, 0)
      return true
    } catch (error) {
      // EPERM: the process exists but belongs to another user.
      return (error as NodeJS.ErrnoException).code === "EPERM"
    }
  }
})

/**
 * Whether the owner of an unfinished run is alive: a fresh heartbeat, and (on this host) a pid
 * that answers.
 *
 * @example
 * ```ts
 * ownerAlive({ pid: 1, host: "h", heartbeatAt: 0 }, { now: 60_000, host: "h", alive: () => true }) // => false
 * ```
 */
export const ownerAlive = (owner: RunOwner | undefined, probe: Liveness): boolean =>
  owner !== undefined &&
  probe.now - owner.heartbeatAt < heartbeatTimeoutMs &&
  (owner.host !== probe.host || probe.alive(owner.pid))

/**
 * The durable wait a run is parked on: its last `StepWaiting` not followed by the end of that
 * step (nor by the end of the run).
 *
 * @example
 * ```ts
 * parkedOn(events) // => { step: "wait:approval", signal: "approval" }
 * ```
 */
export const parkedOn = (
  events: ReadonlyArray<FlowEvent>
): { readonly step: string; readonly signal?: string | undefined; readonly until?: number | undefined } | undefined => {
  let open: { step: string; signal?: string | undefined; until?: number | undefined } | undefined
  for (const e of events) {
    if (e._tag === "StepWaiting") open = { step: e.path, signal: e.signal, until: e.until }
    else if (open !== undefined && (e._tag === "StepSucceeded" || e._tag === "StepFailed") && e.path === open.step) open = undefined
    else if (e._tag === "FlowFinished") open = undefined
  }
  return open
}

/**
 * The status of a journaled run (see the module's comment for the rules).
 *
 * @example
 * ```ts
 * runStatus({ ...record, status: "succeeded" }, [], localLiveness()) // => { status: "succeeded" }
 * ```
 */
export const runStatus = (record: RunRecord, events: ReadonlyArray<FlowEvent>, probe: Liveness): StatusView => {
  if (record.status !== "running") return { status: record.status }
  const parked = parkedOn(events)
  if (parked !== undefined) {
    return parked.signal !== undefined
      ? { status: "waiting", step: parked.step, waitingFor: parked.signal }
      : { status: "sleeping", step: parked.step, until: parked.until }
  }
  return { status: ownerAlive(record.owner, probe) ? "running" : "crashed" }
}
