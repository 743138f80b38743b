/**
 * `--chaos <seed>`: a live run on the sandbox with faults injected, so a user can watch retries,
 * breaker trips, fallbacks and compensations happen, then read which faults fired. The faults
 * are a fixed mix at `--rate` (default 0.1) on every sandbox tool, decided by the seed: the same
 * seed and input inject the same faults on the same calls.
 *
 * With `--config .mcp.json` (real servers), the mix is wire-level only ({@link wirePlan}: drops,
 * delays, lost answers, duplicated and corrupted messages, a down window), injected in front of
 * the real connections (`chaos/WireChaos.ts`). Decisions are seeded per call, but real servers
 * and real time are not deterministic: the same seed does not promise the same run.
 *
 * Every fault that fires is reported from the fiber of the call it hit ({@link reportFaults}):
 * its step records a `FaultFired` event, so the journal, `mcpflow show` and the run viewer have
 * it; the `RunSummary` lists them all with their step.
 *
 * @example
 * ```ts
 * const injector = LiveChaos.injector(42, 0.2)
 * const servers = yield* sandbox.pipe(Effect.provideService(FakeServer.CurrentInjector, injector)) // chaos/FakeServer.ts
 * ```
 * @module
 */
import { Clock, Effect, Layer } from "effect"
import * as F from "../../../chaos/Fault.ts"
import * as Injector from "../../../chaos/Injector.ts"
import * as Prng from "../../../chaos/Prng.ts"
import { CallSites, GatewayEvents, McpGateway } from "../../../dsl/ports/McpGateway.ts"
import type { ChaosFired } from "./Summary.ts"

/**
 * The live fault mix on every tool: tool errors, JSON-RPC errors, dropped connections, rate
 * limits and lost responses sharing `rate` (about that share of calls fail), and extra latency
 * at `rate`. No hangs: a live run would sit out the full call timeout.
 *
 * @example
 * ```ts
 * livePlan(42, 0.2).faults.length // => 6
 * ```
 */
export const livePlan = (seed: number, rate: number): F.FaultPlan => {
  // `rate` is shared by the five failure kinds: about that share of the calls fail.
  const each = rate / 5
  return F.plan(seed, [
    F.toolError("*", "injected tool failure (--chaos)", { rate: each }),
    F.jsonRpcError("*", -32603, "injected internal error (--chaos)", { rate: each }),
    F.connectionDrop("*", { rate: each }),
    F.rateLimited("*", 300, { rate: each }),
    F.lostResponse("*", { rate: each }, "close"),
    F.latency("*", F.uniform(50, 400), { rate })
  ])
}

/**
 * The live mix in front of real servers, wire-level only: dropped connections, lost answers
 * (the connection then closes), duplicated requests (a non-idempotent tool runs twice: what a
 * staging check wants to see) and corrupted answers sharing `rate`, extra latency (50–400 ms)
 * on requests and answers at `rate`, and each server down for 2 s (at a time drawn from the seed
 * within the first 5 s) with chance `rate`.
 *
 * @example
 * ```ts
 * wirePlan(7, 0.2).faults.map((f) => f._tag) // => ["ConnectionDrop", "LostResponse", "DuplicateMessage", "CorruptMessage", "Latency", "Latency", "ServerDown"]
 * ```
 */
export const wirePlan = (seed: number, rate: number): F.FaultPlan => {
  const each = rate / 4
  return F.plan(seed, [
    F.connectionDrop("*", { rate: each }),
    F.lostResponse("*", { rate: each }, "close"),
    F.duplicateMessage("*", "request", { rate: each }),
    F.corruptMessage("*", "response", { rate: each }),
    F.latency("*", F.uniform(50, 400), { rate }, "before"),
    F.latency("*", F.uniform(50, 400), { rate }, "after"),
    F.serverDown("*", Math.round(Prng.uniform(seed, "live down") * 5_000), 2_000, { rate })
  ])
}

/**
 * An injector for a live chaos run.
 *
 * @example
 * ```ts
 * const injector = injector(7, 0.3)
 * ```
 */
export const injector = (seed: number, rate: number, wire = false): Injector.Injector =>
  Injector.make(wire ? wirePlan(seed, rate) : livePlan(seed, rate))

/**
 * What a live chaos run's `RunSummary` says of its faults: the seed and every fault that fired.
 *
 * @example
 * ```ts
 * fired(injector, 42).faults.map((f) => f.kind) // => ["LostResponse", "ToolError"]
 * ```
 */
export const fired = (inj: Injector.Injector, seed: number, wire = false): ChaosFired => {
  const t0 = inj.log[0]?.atMs ?? 0
  return {
    seed,
    ...(wire ? { wire } : {}),
    faults: inj.log.map((i) => {
      const step = stepOf(inj, i)
      return {
        atMs: i.atMs - t0,
        server: i.server,
        tool: i.tool,
        call: i.call + 1,
        kind: i.kind,
        ...(step ? { step } : {}),
        ...(i.detail ? { detail: i.detail } : {})
      }
    })
  }
}

/** The step whose call a fault hit (from the call sites the gateway sent), if known. */
const stepOf = (inj: Injector.Injector, i: Injector.Injection): string | undefined =>
  i.tool === "(connect)" ? undefined : inj.sent.find((s) => s.server === i.server && s.tool === i.tool && s.call === i.call)?.step

/**
 * The gateway with the injector's faults reported where they hit: after each call (however it
 * ended), the faults that fired on it — on that server's connection, or on a request the call's
 * step sent — go to the calling fiber's `GatewayEvents` as `FaultFired`, which a step journals
 * as a `FaultFired` flow event. Each fault is reported once.
 *
 * @example
 * ```ts
 * Flow.run(flow, input).pipe(Effect.provide(LiveChaos.reportFaults(injector).pipe(Layer.provide(gateway))))
 * ```
 */
export const reportFaults = (inj: Injector.Injector): Layer.Layer<McpGateway, never, McpGateway> =>
  Layer.effect(
    McpGateway,
    Effect.map(McpGateway, (gateway) => {
      const reported = new Set<number>()
      let from = 0
      const report = (server: string) =>
        Effect.withFiber((fiber) => {
          const path = fiber.getRef(CallSites)?.path ?? ""
          const events = fiber.getRef(GatewayEvents)
          const now = fiber.getRef(Clock.Clock).currentTimeMillisUnsafe()
          const log = inj.log
          for (let n = from; n < log.length; n++) {
            if (reported.has(n)) continue
            const i = log[n]!
            if (i.server !== server) continue
            const step = stepOf(inj, i)
            if (i.tool !== "(connect)" && (step ?? "") !== path) continue
            reported.add(n)
            events.emit({
              _tag: "FaultFired",
              server: i.server,
              tool: i.tool,
              kind: i.kind,
              call: i.call + 1,
              // Fake servers tell epoch ms; wire faults count from the start of the run.
              atMs: i.atMs > 1e12 ? i.atMs : now,
              ...(i.detail ? { detail: i.detail } : {})
            })
          }
          while (reported.has(from)) reported.delete(from++)
          return Effect.void
        })
      return McpGateway.of({
        ...gateway,
        call: (contract, input, options) => Effect.ensuring(gateway.call(contract, input, options), report(contract.server)),
        callRaw: (server, tool, args, options) => Effect.ensuring(gateway.callRaw(server, tool, args, options), report(server))
      })
    })
  )
