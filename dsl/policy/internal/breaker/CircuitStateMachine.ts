/**
 * The state machine of one breaker's circuits: closed → open → half-open (at most `permitted`
 * trial calls; `successThreshold` successes close the circuit, one failure or slow success
 * reopens it), the open duration growing over consecutive openings, and `forced-open` /
 * `disabled` by hand. Outcomes are fenced by the circuit's epoch: one admitted before a
 * transition changes nothing. Every change is written back through the store's `persist`.
 *
 * @example
 * ```ts
 * const machine = CircuitStateMachine.make(compiled, store, events)
 * const ticket = new Ticket()
 * const rejected = machine.admit(record, "docker", ticket, fiber)
 * if (rejected === undefined) machine.record(record, "docker", ticket.epoch, "failure", 12, now, fiber)
 * ```
 * @module
 */
import { Clock, type Fiber } from "effect"
import type { BreakerState, BreakerStore, CircuitRecord } from "../../BreakerStore.ts"
import type { Outcome } from "../../CircuitBreaker.ts"
import { BreakerRejected } from "./BreakerErrors.ts"
import type { BreakerEvents } from "./BreakerEvents.ts"
import { type Compiled, openMsFor } from "./BreakerSettings.ts"
import { FAILURE, SLOW, SUCCESS } from "./Trip.ts"

type AnyFiber = Fiber.Fiber<unknown, unknown>

/**
 * The Clock time of `fiber`, in milliseconds.
 *
 * @example
 * ```ts
 * const now = nowOf(fiber)
 * ```
 */
export const nowOf = (fiber: AnyFiber): number => fiber.getRef(Clock.Clock).currentTimeMillisUnsafe()

/**
 * What an admitted call must record its outcome under: the circuit's epoch when it was admitted
 * (-1: nothing to record) and its start time.
 *
 * @example
 * ```ts
 * const ticket = new Ticket()
 * ticket.epoch // => -1
 * ```
 */
export class Ticket {
  epoch = -1
  start = 0
}

/**
 * The transitions of one breaker's circuits.
 *
 * @example
 * ```ts
 * machine.force(record, "docker", "forced-open", fiber)
 * ```
 */
export interface CircuitStateMachine {
  /** A new closed circuit. */
  readonly newRecord: (key: string) => CircuitRecord
  /** Admission of a call to a circuit that is not closed; fills `ticket` when the outcome must be recorded. */
  readonly admit: (r: CircuitRecord, key: string, ticket: Ticket, fiber: AnyFiber) => BreakerRejected | undefined
  /** Records an outcome admitted under `epoch`. `now` may be NaN for a closed circuit whose trip strategy needs no Clock. */
  readonly record: (
    r: CircuitRecord,
    key: string,
    epoch: number,
    outcome: Outcome,
    durationMs: number,
    now: number,
    fiber: AnyFiber
  ) => void
  /** Forces a circuit open or disables it, its window cleared. */
  readonly force: (r: CircuitRecord, key: string, to: "forced-open" | "disabled", fiber: AnyFiber) => void
  /** Back to closed, counters, backoff and metrics cleared; outcomes admitted before are not counted. */
  readonly reset: (r: CircuitRecord, key: string, fiber: AnyFiber) => void
  /**
   * Holds the circuit open from outside (`why`): a closed or half-open circuit opens (its
   * opening not counted by the backoff), an open one stays open past its open duration; a
   * circuit forced open or disabled by hand is left alone.
   */
  readonly hold: (r: CircuitRecord, key: string, why: string, fiber: AnyFiber) => void
  /**
   * Lets go of a hold: a held open circuit goes half-open once its own open duration (from real
   * failures) is over, else stays open until then. Never closes a circuit.
   */
  readonly release: (r: CircuitRecord, key: string, fiber: AnyFiber) => void
}

const clearWindow = (r: CircuitRecord): void => {
  r.calls = 0
  r.failures = 0
  r.slow = 0
  r.streak = 0
  r.cursor = 0
  r.ring.fill(0)
  r.bucketCalls.fill(0)
  r.bucketFailures.fill(0)
  r.bucketSlow.fill(0)
}

const clearTrials = (r: CircuitRecord): void => {
  r.probesAdmitted = 0
  r.probeSuccesses = 0
}

/**
 * The state machine of a breaker with settings `c`, its circuits in `store`, telling `events`.
 *
 * @example
 * ```ts
 * const machine = make(compiled, memoryStore(), BreakerEvents.make("docker", undefined))
 * ```
 */
export const make = (c: Compiled, store: BreakerStore, events: BreakerEvents): CircuitStateMachine => {
  const persist = store.persist
  const trip = c.trip

  const newRecord = (_key: string): CircuitRecord => ({
    state: "closed",
    epoch: 0,
    openUntil: 0,
    openings: 0,
    lastOpenMs: 0,
    backoffResetAt: 0,
    probesAdmitted: 0,
    probeSuccesses: 0,
    streak: 0,
    calls: 0,
    failures: 0,
    slow: 0,
    ...trip.newWindow(),
    cursor: 0,
    lastBucket: 0,
    rejected: 0,
    opened: 0,
    heldBy: ""
  })

  const transition = (
    r: CircuitRecord,
    key: string,
    to: BreakerState,
    now: number,
    fiber: AnyFiber,
    retryAfterMs?: number,
    cause?: string
  ) => {
    const from = r.state
    r.state = to
    r.epoch++
    events.transition(fiber, key, from, to, now, retryAfterMs, cause)
  }

  const open = (r: CircuitRecord, key: string, now: number, fiber: AnyFiber): void => {
    if (r.state === "closed" && now >= r.backoffResetAt) r.openings = 0
    r.openings++
    r.opened++
    const ms = openMsFor(c, r.openings)
    r.lastOpenMs = ms
    r.openUntil = now + ms
    clearTrials(r)
    transition(r, key, "open", now, fiber, ms)
  }

  const close = (r: CircuitRecord, key: string, now: number, fiber: AnyFiber): void => {
    clearWindow(r)
    clearTrials(r)
    r.backoffResetAt = now + r.lastOpenMs
    transition(r, key, "closed", now, fiber)
  }

  const reject = (
    r: CircuitRecord,
    key: string,
    state: BreakerRejected["state"],
    retryAfterMs: number | undefined,
    fiber: AnyFiber,
    heldBy?: string
  ): BreakerRejected => {
    r.rejected++
    if (persist !== undefined) persist(key, r)
    events.rejected(fiber, key, retryAfterMs, heldBy)
    return heldBy === undefined ? new BreakerRejected({ key, state, retryAfterMs }) : new BreakerRejected({ key, state, heldBy })
  }

  const admitTrial = (r: CircuitRecord, key: string, ticket: Ticket, now: number, fiber: AnyFiber) => {
    if (r.probesAdmitted >= c.permitted) return reject(r, key, "half-open", undefined, fiber)
    r.probesAdmitted++
    ticket.epoch = r.epoch
    ticket.start = now
    if (persist !== undefined) persist(key, r)
    return undefined
  }

  const admit = (r: CircuitRecord, key: string, ticket: Ticket, fiber: AnyFiber): BreakerRejected | undefined => {
    const now = nowOf(fiber)
    switch (r.state) {
      case "closed":
        ticket.epoch = r.epoch
        ticket.start = now
        return undefined
      case "disabled":
        return undefined
      case "forced-open":
        return reject(r, key, "forced-open", undefined, fiber)
      case "open":
        if (r.heldBy !== "") return reject(r, key, "open", undefined, fiber, r.heldBy)
        if (now < r.openUntil) return reject(r, key, "open", r.openUntil - now, fiber)
        clearWindow(r)
        clearTrials(r)
        transition(r, key, "half-open", now, fiber)
        return admitTrial(r, key, ticket, now, fiber)
      case "half-open":
        return admitTrial(r, key, ticket, now, fiber)
    }
  }

  const record = (
    r: CircuitRecord,
    key: string,
    epoch: number,
    outcome: Outcome,
    durationMs: number,
    now: number,
    fiber: AnyFiber
  ): void => {
    if (r.epoch !== epoch) return // a late outcome from before a transition changes nothing
    if (r.state === "closed") {
      if (outcome === "ignored") return
      const code = outcome === "failure" ? FAILURE : durationMs > c.slowMs ? SLOW : SUCCESS
      trip.add(r, code, now)
      r.streak = code === FAILURE ? r.streak + 1 : 0
      // `now` is NaN when the strategy needed no Clock: read it only if the circuit opens.
      if (trip.trips(r)) open(r, key, now === now ? now : nowOf(fiber), fiber)
    } else if (r.state === "half-open") {
      if (outcome === "ignored") {
        r.probesAdmitted--
      } else {
        const code = outcome === "failure" ? FAILURE : durationMs > c.slowMs ? SLOW : SUCCESS
        trip.add(r, code, now)
        if (code !== SUCCESS) open(r, key, now, fiber)
        else if (++r.probeSuccesses >= c.successThreshold) close(r, key, now, fiber)
      }
    } else {
      return
    }
    if (persist !== undefined) persist(key, r)
  }

  const force = (r: CircuitRecord, key: string, to: "forced-open" | "disabled", fiber: AnyFiber): void => {
    if (r.state === to) return
    r.heldBy = "" // a decision by hand outranks a hold
    clearWindow(r)
    clearTrials(r)
    transition(r, key, to, nowOf(fiber), fiber)
    if (persist !== undefined) persist(key, r)
  }

  const hold = (r: CircuitRecord, key: string, why: string, fiber: AnyFiber): void => {
    if (r.state === "forced-open" || r.state === "disabled" || r.heldBy === why) return
    r.heldBy = why
    if (r.state === "open") {
      events.held(fiber, key, true, why, "open")
    } else {
      const now = nowOf(fiber)
      // Not a trip: the backoff does not count it, and its own open duration is already over.
      clearTrials(r)
      r.openUntil = Math.min(r.openUntil, now)
      transition(r, key, "open", now, fiber, undefined, why)
      events.held(fiber, key, true, why, "open")
    }
    if (persist !== undefined) persist(key, r)
  }

  const release = (r: CircuitRecord, key: string, fiber: AnyFiber): void => {
    if (r.heldBy === "") return
    const why = r.heldBy
    r.heldBy = ""
    if (r.state === "open") {
      const now = nowOf(fiber)
      if (now >= r.openUntil) {
        clearWindow(r)
        clearTrials(r)
        events.held(fiber, key, false, why, "half-open")
        transition(r, key, "half-open", now, fiber, undefined, `released (${why})`)
      } else {
        // Tripped by real failures too: it stays open for the rest of its own open duration.
        events.held(fiber, key, false, why, "open")
      }
    }
    if (persist !== undefined) persist(key, r)
  }

  const reset = (r: CircuitRecord, key: string, fiber: AnyFiber): void => {
    r.heldBy = ""
    clearWindow(r)
    clearTrials(r)
    r.openUntil = 0
    r.openings = 0
    r.lastOpenMs = 0
    r.backoffResetAt = 0
    r.rejected = 0
    r.opened = 0
    if (r.state !== "closed") transition(r, key, "closed", nowOf(fiber), fiber)
    else r.epoch++ // outcomes of calls admitted before the reset are not counted
    if (persist !== undefined) persist(key, r)
  }

  return { newRecord, admit, record, force, reset, hold, release }
}
