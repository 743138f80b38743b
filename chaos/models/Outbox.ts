/**
 * A notification outbox (e.g. `communication-hub`): every message sent, with an optional dedupe
 * key (a message repeated with the same key is not sent again).
 *
 * @example
 * ```ts
 * const outbox = yield* Outbox.make()
 * yield* outbox.send({ channel: "#deploys", body: "app 1.2 is live", dedupeKey: "deploy-1.2" })
 * ```
 * @module
 */
import { Clock, Effect, Ref } from "effect"
import type { ToolRefusal } from "../FakeServer.ts"
import { ok, refuse, type Step, transact } from "./Model.ts"

/**
 * One message sent.
 *
 * @example
 * ```ts
 * const m: Message = { id: "msg-1", channel: "#ops", recipient: undefined, body: "hi", dedupeKey: undefined, atMs: 0 }
 * ```
 */
export interface Message {
  readonly id: string
  readonly channel: string
  readonly recipient: string | undefined
  readonly body: string
  readonly dedupeKey: string | undefined
  readonly atMs: number
}

/**
 * The outbox's state.
 *
 * @example
 * ```ts
 * const s: OutboxSnapshot = { messages: [] }
 * ```
 */
export interface OutboxSnapshot {
  readonly messages: ReadonlyArray<Message>
}

/**
 * The outbox model.
 *
 * @example
 * ```ts
 * const { messageId, duplicate } = yield* outbox.send({ channel: "#ops", body: "hi" })
 * ```
 */
export interface Outbox {
  readonly send: (input: {
    readonly channel: string
    readonly body: string
    readonly recipient?: string | undefined
    readonly dedupeKey?: string | undefined
  }) => Effect.Effect<{ readonly messageId: string; readonly duplicate: boolean }, ToolRefusal>
  readonly snapshot: Effect.Effect<OutboxSnapshot>
}

/**
 * Makes an empty outbox; `channels`, when given, are the only ones that exist.
 *
 * @example
 * ```ts
 * const outbox = yield* Outbox.make({ channels: ["#ops", "#deploys"] })
 * ```
 */
export const make = (options: { readonly channels?: ReadonlyArray<string> | undefined } = {}): Effect.Effect<Outbox> =>
  Effect.map(Ref.make<OutboxSnapshot>({ messages: [] }), (state) => ({
    send: (input) =>
      Effect.flatMap(Clock.currentTimeMillis, (now) =>
        transact(state, (s): Step<{ messageId: string; duplicate: boolean }, OutboxSnapshot> => {
          if (options.channels !== undefined && !options.channels.includes(input.channel)) return refuse(`no channel ${input.channel}`)
          const prior = input.dedupeKey === undefined ? undefined : s.messages.find((m) => m.dedupeKey === input.dedupeKey)
          if (prior !== undefined) return ok({ messageId: prior.id, duplicate: true }, s)
          const id = `msg-${s.messages.length + 1}`
          const message: Message = {
            id,
            channel: input.channel,
            recipient: input.recipient,
            body: input.body,
            dedupeKey: input.dedupeKey,
            atMs: now
          }
          return ok({ messageId: id, duplicate: false }, { messages: [...s.messages, message] })
        })),
    snapshot: Ref.get(state)
  }))

/**
 * Consistency: no two messages share a dedupe key.
 *
 * @example
 * ```ts
 * Outbox.check(yield* outbox.snapshot) // => []
 * ```
 */
export const check = (s: OutboxSnapshot): ReadonlyArray<string> => {
  const seen = new Set<string>()
  const problems: Array<string> = []
  for (const m of s.messages) {
    if (m.dedupeKey === undefined) continue
    if (seen.has(m.dedupeKey)) problems.push(`two messages with dedupe key ${m.dedupeKey}`)
    seen.add(m.dedupeKey)
  }
  return problems
}

/**
 * How many identical messages (same channel, recipient and body) were sent more than once.
 *
 * @example
 * ```ts
 * Outbox.repeats(snapshot) // => 0 when every notification went out once
 * ```
 */
export const repeats = (s: OutboxSnapshot): number => {
  const seen = new Set<string>()
  let n = 0
  for (const m of s.messages) {
    const k = JSON.stringify([m.channel, m.recipient ?? null, m.body])
    if (seen.has(k)) n++
    seen.add(k)
  }
  return n
}
