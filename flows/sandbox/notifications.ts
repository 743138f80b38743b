/**
 * Sandbox fakes of `communication-hub` and `slack-notifications`. Every message sent is kept,
 * in order, in one log, so a flow's run can be checked afterwards ("exactly one alert").
 *
 * @example
 * ```ts
 * const { servers, sent } = yield* makeNotificationsSandbox
 * const alerts = (yield* Ref.get(sent)).filter((m) => m.tool === "send_alert")
 * ```
 * @module
 */
import { Clock, Effect, Ref, type Schema } from "effect"
import { FakeServer, FakeState } from "../../chaos/index.ts"
import type { InProcessServerConfig } from "../../src/runtime/gateway/ServerConfig.ts"
import { CommunicationHub, SlackNotifications } from "../servers/notifications.ts"
import { Ids, latency, sandboxServer } from "./support.ts"

/**
 * One message a notification fake delivered: which server and tool, the id it answered, and
 * the arguments as sent.
 *
 * @example
 * ```ts
 * const m: SentMessage = { server: "communication-hub", tool: "send_alert", id: "alert-000001", args: { message: "failed", severity: "high" } }
 * ```
 */
export interface SentMessage {
  readonly server: string
  readonly tool: string
  readonly id: string
  readonly args: Schema.JsonObject
}

/**
 * The notification fakes and the log of what they sent.
 *
 * @example
 * ```ts
 * const { servers, sent } = yield* makeNotificationsSandbox
 * ```
 */
export const makeNotificationsSandbox: Effect.Effect<{
  readonly servers: Record<string, InProcessServerConfig>
  readonly sent: Ref.Ref<ReadonlyArray<SentMessage>>
}> = Effect.gen(function*() {
  const sent = yield* FakeState.ref<ReadonlyArray<SentMessage>>("notifications sent", [])
  const broadcastIds = yield* Ids.make("bc-")
  const alertIds = yield* Ids.make("alert-")
  const alertsByKey = yield* FakeState.ref("notifications alerts by key", new Map<string, { delivered: number; alert_id: string; escalated: boolean }>())
  const notificationIds = yield* Ids.make("ntf-")
  const notificationsByKey = yield* FakeState.ref("notifications by key", new Map<string, { delivered: number; notification_id: string }>())
  const slackSeq = yield* FakeState.ref("notifications slack seq", 0)

  const record = (server: string, tool: string, id: string, args: Schema.JsonObject) =>
    Ref.update(sent, (log) => [...log, { server, tool, id, args }])

  const slackTs = Effect.gen(function*() {
    const seconds = Math.floor((yield* Clock.currentTimeMillis) / 1000)
    const n = yield* Ref.updateAndGet(slackSeq, (k) => k + 1)
    return `${seconds}.${String(n).padStart(6, "0")}`
  })

  const hub = yield* sandboxServer("communication-hub", [
    FakeServer.handle(CommunicationHub.broadcast_deployment, (args) =>
      Effect.gen(function*() {
        yield* latency(80)
        const broadcast_id = yield* broadcastIds.next
        yield* record("communication-hub", "broadcast_deployment", broadcast_id, args)
        return { delivered: 3, broadcast_id }
      })),
    FakeServer.handle(CommunicationHub.send_alert, (args) =>
      Effect.gen(function*() {
        yield* latency(80)
        const key = args.idempotency_key
        const seen = key === undefined ? undefined : (yield* Ref.get(alertsByKey)).get(key)
        if (seen !== undefined) return seen
        const alert_id = yield* alertIds.next
        yield* record("communication-hub", "send_alert", alert_id, args)
        const escalated = args.escalation_policy !== undefined || args.severity === "critical"
        const answer = { delivered: escalated ? 3 : 2, alert_id, escalated }
        if (key !== undefined) yield* Ref.update(alertsByKey, (m) => new Map(m).set(key, answer))
        return answer
      })),
    FakeServer.handle(CommunicationHub.send_notification, (args) =>
      Effect.gen(function*() {
        yield* latency(60)
        const key = args.idempotency_key
        const seen = key === undefined ? undefined : (yield* Ref.get(notificationsByKey)).get(key)
        if (seen !== undefined) return seen
        const notification_id = yield* notificationIds.next
        yield* record("communication-hub", "send_notification", notification_id, args)
        const answer = { delivered: args.channels.length, notification_id }
        if (key !== undefined) yield* Ref.update(notificationsByKey, (m) => new Map(m).set(key, answer))
        return answer
      }))
  ])

  const slack = yield* sandboxServer("slack-notifications", [
    FakeServer.handle(SlackNotifications.send_notification, (args) =>
      Effect.gen(function*() {
        yield* latency(110)
        const ts = yield* slackTs
        yield* record("slack-notifications", "send_notification", ts, args)
        return { ok: true, channel: args.channel, ts }
      })),
    FakeServer.handle(SlackNotifications.post_message, (args) =>
      Effect.gen(function*() {
        yield* latency(90)
        const ts = yield* slackTs
        yield* record("slack-notifications", "post_message", ts, args)
        return { ok: true, channel: args.channel, ts }
      }))
  ])

  return { servers: { "communication-hub": hub, "slack-notifications": slack }, sent }
})
