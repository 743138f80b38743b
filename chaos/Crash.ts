/**
 * Crash and resume inside one chaos run. A `Crash` fault kills "the process running the run" at
 * a tool call; the servers — the world outside that process, with their state — live on. The
 * run then goes on as a new process would: a flow resumes from its journal (see
 * `FlowCheck.runFlowOnce`, on a temporary SQLite journal), a plain program starts over.
 *
 * Each attempt (the first run, then one per crash) reaches the servers through a {@link Gate}
 * of its own. A crash closes the attempt's gate at once: its connections close, none of its
 * messages reach a server any more, no answer reaches it, and it cannot reconnect. The dead
 * attempt is interrupted and left to wind down by itself (what it still does touches nothing):
 * its clock stops mattering — its sleeps end at once, so its retries and timeouts take no
 * virtual time — and it is awaited before the run ends, so nothing outlives the run.
 *
 * @example
 * ```ts
 * const result = yield* Crash.supervise(servers, injector, program, {
 *   crashed: (n) => copyJournal(n),
 *   resume: (n) => Flow.resume(flow, runId).pipe(Effect.provide(engineOf(n)))
 * })
 * ```
 * @module
 */
import type { Transport, TransportSendOptions } from "@modelcontextprotocol/sdk/shared/transport.js"
import type { JSONRPCMessage, MessageExtraInfo } from "@modelcontextprotocol/sdk/types.js"
import { Clock, Deferred, Effect, Exit, Fiber } from "effect"
import type { McpGateway } from "../dsl/ports/McpGateway.ts"
import * as GatewayLayer from "../src/runtime/gateway/GatewayLayer.ts"
import type { ServerConfig } from "../src/runtime/gateway/ServerConfig.ts"
import type { Injector } from "./Injector.ts"
import type { Restart } from "./RunSpec.ts"

const deadMessage = "the process running the run crashed (injected Crash)"

/**
 * One attempt's way to the servers: open until the attempt's process crashes.
 *
 * @example
 * ```ts
 * const gate = new Gate()
 * gate.kill() // every connection of the attempt closes; nothing passes any more
 * ```
 */
export class Gate {
  private dead = false
  private readonly links = new Set<Transport>()

  /** Whether the attempt's process crashed. */
  get isDead(): boolean {
    return this.dead
  }

  /** Remembers a connection's raw transport, to close it at the crash. */
  track(transport: Transport): void {
    this.links.add(transport)
  }

  /** The process dies: its connections close (a server sees them drop) and stay closed. */
  kill(): void {
    if (this.dead) return
    this.dead = true
    for (const link of this.links) void link.close().catch(() => {})
    this.links.clear()
  }

  /**
   * A server config seen through this gate (in-process configs; others are left as they are).
   *
   * @example
   * ```ts
   * const gated = gate.wrap(config)
   * ```
   */
  wrap(config: ServerConfig): ServerConfig {
    if (config.type !== "in-process") return config
    const faults = config.wrapTransport
    return {
      ...config,
      wrapTransport: (transport) => {
        const inner = new Side(transport, this, "server")
        return new Side(faults === undefined ? inner : faults(inner), this, "client")
      }
    }
  }
}

/**
 * One side of a gate around a connection. The `client` side refuses to start or send once the
 * process is dead (the old process's calls fail at once); the `server` side, next to the raw
 * link, drops every message both ways once it is dead (the fault layer in between never sees an
 * answer meant for a dead process).
 */
class Side implements Transport {
  onclose?: (() => void) | undefined
  onerror?: ((error: Error) => void) | undefined
  onmessage?: ((message: JSONRPCMessage, extra?: MessageExtraInfo) => void) | undefined

  constructor(
    private readonly inner: Transport,
    private readonly gate: Gate,
    private readonly side: "client" | "server"
  ) {
    if (side === "server") gate.track(inner)
    inner.onmessage = (message, extra) => {
      if (!gate.isDead || side === "client") this.onmessage?.(message, extra)
    }
    inner.onclose = () => this.onclose?.()
    inner.onerror = (error) => this.onerror?.(error)
  }

  get sessionId(): string | undefined {
    return this.inner.sessionId
  }

  start(): Promise<void> {
    return this.gate.isDead ? Promise.reject(new Error(deadMessage)) : this.inner.start()
  }

  send(message: JSONRPCMessage, options?: TransportSendOptions): Promise<void> {
    if (!this.gate.isDead) return this.inner.send(message, options)
    return this.side === "client" ? Promise.reject(new Error(deadMessage)) : Promise.resolve()
  }

  close(): Promise<void> {
    return this.inner.close()
  }

  setProtocolVersion(version: string): void {
    this.inner.setProtocolVersion?.(version)
  }
}

/**
 * Runs `program` against `servers`; each time a `Crash` fault fires, the running attempt dies
 * (see {@link Gate}) and the next one takes over: `restart.resume(n)` after the `n`-th crash
 * (`restart.crashed(n)` is called at the instant of the crash, synchronously), or `program`
 * again without a `restart`. After `maxCrashes` crashes, `Crash` faults stop firing. The result
 * is the last attempt's.
 *
 * @example
 * ```ts
 * const value = yield* Crash.supervise(servers, injector, program, undefined) // a crash runs `program` again
 * ```
 */
export const supervise = <A, E>(
  servers: Readonly<Record<string, ServerConfig>>,
  injector: Injector,
  program: Effect.Effect<A, E, McpGateway>,
  restart: Restart<A, E> | undefined,
  maxCrashes = 5
): Effect.Effect<A, E> =>
  Effect.gen(function*() {
    const clock = yield* Clock.Clock
    const dead: Array<Fiber.Fiber<A, E>> = []
    let result: Exit.Exit<A, E> | undefined
    for (let crashes = 0; result === undefined; crashes++) {
      const gate = new Gate()
      const crashed = Deferred.makeUnsafe<void>()
      injector.onCrash(
        crashes >= maxCrashes ? undefined : () => {
          injector.onCrash(undefined)
          gate.kill()
          restart?.crashed(crashes + 1)
          Deferred.doneUnsafe(crashed, Exit.void)
        }
      )
      const attempt = crashes === 0 ? program : restart?.resume(crashes) ?? program
      const gated = Object.fromEntries(Object.entries(servers).map(([key, config]) => [key, gate.wrap(config)]))
      const fiber = yield* Effect.forkChild(
        Effect.provide(attempt, GatewayLayer.layer({ servers: gated })).pipe(Effect.provideService(Clock.Clock, untilDeath(clock, crashed)))
      )
      const ended = yield* Effect.raceFirst(
        Effect.map(Fiber.await(fiber), (exit) => ({ exit })),
        Effect.as(Deferred.await(crashed), undefined)
      )
      if (ended !== undefined && !gate.isDead) {
        result = ended.exit
      } else {
        dead.push(fiber)
        fiber.interruptUnsafe()
      }
    }
    injector.onCrash(undefined)
    // The dead processes wind down (their calls fail at once); nothing of theirs outlives the run.
    for (const fiber of dead) yield* Fiber.await(fiber)
    return yield* result
  })

/** After this many sleeps of a dead process, its sleeps never end (a loop that would spin for ever). */
const DEAD_SLEEPS = 100_000

/**
 * The clock of one process: `clock` while it lives; once `died` is done, every sleep (pending or
 * new) ends at once — a dead process's backoffs and timeouts take no time of the run's.
 */
const untilDeath = (clock: Clock.Clock, died: Deferred.Deferred<void>): Clock.Clock => {
  let deadSleeps = 0
  return {
    currentTimeMillisUnsafe: () => clock.currentTimeMillisUnsafe(),
    currentTimeMillis: clock.currentTimeMillis,
    currentTimeNanosUnsafe: () => clock.currentTimeNanosUnsafe(),
    currentTimeNanos: clock.currentTimeNanos,
    monotonicTimeNanosUnsafe: () => clock.monotonicTimeNanosUnsafe(),
    monotonicTimeNanos: clock.monotonicTimeNanos,
    sleep: (duration) =>
      Effect.suspend(() => {
        if (Deferred.isDoneUnsafe(died)) return ++deadSleeps > DEAD_SLEEPS ? Effect.never : Effect.yieldNow
        return Effect.raceFirst(clock.sleep(duration), Deferred.await(died))
      })
  }
}
