/**
 * Typed publish/subscribe inside a flow: the seeds' `deployment.started` / `completed` /
 * `failed` handlers. Handlers are subscribed per run; publishing runs every handler of the topic
 * as a reported group and settles (a failing handler is reported, not propagated).
 *
 * @module
 */
import { Context, Effect, Exit, Schema } from "effect"
import { group, runGroup } from "./Group.ts"
import { claim, CurrentScope, emit, type Subscription } from "./RunScope.ts"

/**
 * A named event type with its payload Schema.
 *
 * @example
 * ```ts
 * const DeploymentFailed = topic("deployment.failed", Schema.Struct({ service: Schema.String, error: Schema.String }))
 * ```
 */
export interface Topic<A> {
  readonly name: string
  readonly payload: Schema.Codec<A, unknown>
}

/**
 * Declares a topic.
 *
 * @example
 * ```ts
 * const DeploymentStarted = topic("deployment.started", Schema.Struct({ service: Schema.String, version: Schema.String }))
 * ```
 */
export const topic = <S extends Schema.Top>(name: string, payload: S): Topic<S["Type"]> => ({
  name,
  payload: payload as unknown as Schema.Codec<S["Type"], unknown>
})

const outsideRuns = new Map<string, Array<Subscription>>()
const counters = new WeakMap<object, Map<string, number>>()

/**
 * Subscribes `handler` (named `name` in reports) to `topic` for the rest of the current run.
 *
 * @example
 * ```ts
 * yield* on(DeploymentFailed, "page on-call", (e) => step("page", Hub.send_alert({ message: e.error, severity: "critical" })))
 * ```
 */
export const on = <A, E, R>(
  t: Topic<A>,
  name: string,
  handler: (payload: A) => Effect.Effect<unknown, E, R>
): Effect.Effect<void, never, R> =>
  Effect.contextWith((context: Context.Context<R>) =>
    CurrentScope.use((scope) => {
      const map = scope.run?.subscriptions ?? outsideRuns
      const list = map.get(t.name) ?? []
      // The subscriber's services, under the publisher's (the handler group's scope must win, or
      // the handler's steps would be claimed in the subscriber's scope, clashing on every publish).
      list.push({ name, handler: (p) => Effect.updateContext(handler(p as A), (current) => Context.merge(context, current)) })
      map.set(t.name, list)
      return Effect.void
    })
  )

/**
 * Publishes `payload` on `topic`: validates it against the topic's Schema, then runs every
 * subscribed handler (in subscription order) as the group `<topic>#<n>/<handler>`. Returns how
 * many handlers ran and how many failed.
 *
 * @example
 * ```ts
 * const { failed } = yield* publish(DeploymentStarted, { service: "api", version: "1.4.2" })
 * ```
 */
export const publish = <A>(
  t: Topic<A>,
  payload: A
): Effect.Effect<{ readonly handled: number; readonly failed: number }, Schema.SchemaError> =>
  Effect.flatMap(Schema.encodeEffect(t.payload)(payload), () =>
    CurrentScope.use((scope) => {
      const map = scope.run?.subscriptions ?? outsideRuns
      const handlers = [...(map.get(t.name) ?? [])]
      const key = scope.run ?? outsideRuns
      const perTopic = counters.get(key) ?? new Map<string, number>()
      counters.set(key, perTopic)
      const n = (perTopic.get(t.name) ?? 0) + 1
      perTopic.set(t.name, n)
      return group(`${t.name}#${n}`, "handler", (path, inner) =>
        Effect.gen(function*() {
          yield* emit(scope, { _tag: "Published", path, topic: t.name, handlers: handlers.length })
          let failed = 0
          for (const h of handlers) {
            const hPath = yield* claim(inner, h.name)
            const exit = yield* Effect.exit(runGroup(inner, hPath, "handler", () => h.handler(payload)))
            if (Exit.isFailure(exit)) failed++
          }
          return { handled: handlers.length, failed }
        }))
    }))
