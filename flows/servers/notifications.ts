/**
 * Contracts of the seeds' notification servers: `communication-hub` (deployment broadcasts,
 * alerts, multi-channel notifications) and `slack-notifications`.
 *
 * @example
 * ```ts
 * import { CommunicationHub } from "./notifications.ts"
 * const sent = CommunicationHub.send_alert({ message: "pipeline failed", severity: "high" })
 * ```
 * @module
 */
import { Schema } from "effect"
import { Tool } from "../../dsl/index.ts"
import { Count, Details, Severity } from "./common.ts"

/**
 * The channels `send_notification` can reach.
 *
 * @example
 * ```ts
 * const c: typeof Channel.Type = "dashboard"
 * ```
 */
export const Channel = Schema.Literals(["slack", "email", "dashboard", "sms", "teams", "pagerduty"])

/**
 * The communication hub. Every call sends messages (not idempotent: a retry may notify twice).
 *
 * @example
 * ```ts
 * yield* CommunicationHub.broadcast_deployment({ environment: "production", service: "app", version: "1.2.3", status: "completed", details: { pipeline_steps: 9 } })
 * yield* CommunicationHub.send_notification({ message: "step 3 done", channels: ["dashboard"], priority: "normal" })
 * yield* CommunicationHub.send_alert({ message: "rollback failed", severity: "critical", escalation_policy: "critical" })
 * ```
 */
export const CommunicationHub = Tool.server("communication-hub", {
  broadcast_deployment: Tool.define({
    description: "Announce a deployment's progress or outcome on every deployment channel",
    input: Schema.Struct({
      environment: Schema.String,
      service: Schema.String,
      version: Schema.optionalKey(Schema.String),
      status: Schema.Literals(["started", "completed", "failed", "rolled_back"]),
      details: Schema.optionalKey(Details)
    }),
    output: Schema.Struct({ delivered: Count, broadcast_id: Schema.String }),
    annotations: { idempotent: false, openWorld: true }
  }),
  send_alert: Tool.define({
    description:
      "Raise an alert; `escalation_policy` pages the on-call rotation of that name. Not idempotent unless keyed: a repeat with the same `idempotency_key` answers the first alert",
    input: Schema.Struct({
      message: Schema.String,
      severity: Severity,
      escalation_policy: Schema.optionalKey(Schema.String),
      metadata: Schema.optionalKey(Details),
      /** Repeating a call with the same key raises no second alert (it answers the first). */
      idempotency_key: Schema.optionalKey(Schema.String)
    }),
    output: Schema.Struct({ delivered: Count, alert_id: Schema.String, escalated: Schema.Boolean }),
    annotations: { idempotent: false, openWorld: true }
  }),
  send_notification: Tool.define({
    description: "Send a message to the given channels, optionally through a named template",
    input: Schema.Struct({
      message: Schema.String,
      channels: Schema.Array(Channel),
      priority: Schema.Literals(["low", "normal", "high", "critical"]),
      template: Schema.optionalKey(Schema.String),
      /** Repeating a call with the same key sends nothing new (it answers the first). */
      idempotency_key: Schema.optionalKey(Schema.String)
    }),
    output: Schema.Struct({ delivered: Count, notification_id: Schema.String }),
    annotations: { idempotent: false, openWorld: true }
  })
})

const SlackResult = Schema.Struct({
  ok: Schema.Boolean,
  channel: Schema.String,
  ts: Schema.String.annotate({ description: "Slack message timestamp, e.g. 1727086500.000100" })
})

/**
 * Slack notifications: formatted notifications and plain messages. Not idempotent.
 *
 * @example
 * ```ts
 * yield* SlackNotifications.post_message({ channel: "#deployments", text: "🚀 Deployment started: app v1.2.3" })
 * yield* SlackNotifications.send_notification({ channel: "#deployments", notification_type: "deployment_success", title: "Deployed app v1.2.3" })
 * ```
 */
export const SlackNotifications = Tool.server("slack-notifications", {
  send_notification: Tool.define({
    description: "Post a formatted notification (attachment with title, details and colour) to a channel",
    input: Schema.Struct({
      channel: Schema.String,
      notification_type: Schema.Literals([
        "deployment_started",
        "deployment_success",
        "deployment_failure",
        "security_alert",
        "info"
      ]),
      title: Schema.String,
      details: Schema.optionalKey(Details),
      color: Schema.optionalKey(Schema.Literals(["good", "warning", "danger"]))
    }),
    output: SlackResult,
    annotations: { idempotent: false, openWorld: true }
  }),
  post_message: Tool.define({
    description: "Post a plain text message to a channel",
    input: Schema.Struct({ channel: Schema.String, text: Schema.String }),
    output: SlackResult,
    annotations: { idempotent: false, openWorld: true }
  })
})
