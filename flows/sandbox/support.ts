/**
 * Small helpers shared by the sandbox fakes: latency on Effect's clock, ISO timestamps from the
 * clock, deterministic id counters and refusals.
 *
 * @example
 * ```ts
 * const ids = yield* Ids.make("ch_")
 * const id = yield* ids.next // "ch_000001"
 * ```
 * @module
 */
import { Clock, DateTime, Duration, Effect, Ref } from "effect"
import { FakeServer, FakeState, ToolRefusal } from "../../chaos/index.ts"
import type { ToolHandler } from "../../chaos/FakeServer.ts"
import type { InProcessServerConfig } from "../../src/runtime/gateway/ServerConfig.ts"

/**
 * Waits `ms` milliseconds on Effect's clock (virtual under `TestClock`).
 *
 * @example
 * ```ts
 * latency(400).pipe(Effect.as({ ok: true }))
 * ```
 */
export const latency = (ms: number): Effect.Effect<void> => Effect.sleep(Duration.millis(ms))

/**
 * The clock's current instant as an ISO-8601 string.
 *
 * @example
 * ```ts
 * const at = yield* nowIso // "2024-09-23T10:15:00.000Z" (1970-01-01T00:00:00.000Z under a fresh TestClock)
 * ```
 */
export const nowIso: Effect.Effect<string> = Effect.map(DateTime.now, DateTime.formatIso)

/**
 * The instant `ms` milliseconds from now, as an ISO-8601 string.
 *
 * @example
 * ```ts
 * const expires = yield* isoIn(15 * 60_000)
 * ```
 */
export const isoIn = (ms: number): Effect.Effect<string> =>
  Effect.map(Clock.currentTimeMillis, (now) => new Date(now + ms).toISOString())

/**
 * A deterministic id generator: a prefix and a zero-padded counter.
 *
 * @example
 * ```ts
 * const ids = yield* Ids.make("rsv_")
 * yield* ids.next // "rsv_000001"
 * ```
 */
export interface Ids {
  readonly next: Effect.Effect<string>
}

/**
 * Makes {@link Ids}.
 *
 * @example
 * ```ts
 * const ids = yield* Ids.make("job_", 100_000)
 * ```
 */
export const Ids = {
  make: (prefix: string, start = 1): Effect.Effect<Ids> =>
    Effect.map(FakeState.ref(`ids ${prefix}`, start), (counter) => ({
      next: Ref.getAndUpdate(counter, (n) => n + 1).pipe(Effect.map((n) => `${prefix}${String(n).padStart(6, "0")}`))
    }))
}

/**
 * Fails a handler the way a real server does: `isError: true` with this text.
 *
 * @example
 * ```ts
 * if (stock < qty) return yield* refuse(`insufficient stock for ${sku}`)
 * ```
 */
export const refuse = (text: string): Effect.Effect<never, ToolRefusal> => Effect.fail(new ToolRefusal({ text }))

/**
 * A fake server labelled as the sandbox (built from a definition, so a chaos run can rebuild it
 * with its injector: `FakeServer.definitionOf`, `FlowFacts.definitions`).
 *
 * @example
 * ```ts
 * const docker = yield* sandboxServer("docker", [FakeServer.handle(Docker.docker_ps, () => Effect.succeed({ success: true, containers: [] }))])
 * ```
 */
export const sandboxServer = (key: string, handlers: ReadonlyArray<ToolHandler>): Effect.Effect<InProcessServerConfig> => {
  const definition: FakeServer.Definition = { key, handlers, options: { name: `${key} (sandbox)`, version: "1.0.0-sandbox" } }
  return FakeServer.fromDefinition(definition)
}

/**
 * A small deterministic hash of a string (to vary fake data by input without randomness).
 *
 * @example
 * ```ts
 * hash("app:latest") % 100
 * ```
 */
export const hash = (s: string): number => {
  let h = 2166136261
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619)
  return h >>> 0
}
