/**
 * Contracts of the customer-onboarding workflow's servers (seed 001's `depends_on` example):
 * `compliance_server`, `finance_server`, `ops_server` and `communication_server`. The
 * compensations `close_billing_account` and `delete_tenant` are not named by the seed (it asks
 * for "compensating transactions"); they undo `create_billing_account` and `create_tenant`.
 * `find_billing_account` and `find_tenant` (read-only, by business key) resolve a create whose
 * answer was lost: did it happen?
 *
 * @example
 * ```ts
 * import { Compliance } from "./onboarding.ts"
 * const kyc = Compliance.kyc_check({ customer_id: "cus-42", full_name: "Grace Hopper", country: "US" })
 * ```
 * @module
 */
import { Schema } from "effect"
import { Tool } from "../../dsl/index.ts"
import { Count, Percent, PositiveInt } from "./common.ts"
import { Currency } from "./commerce.ts"

const Person = {
  customer_id: Schema.String,
  full_name: Schema.String,
  country: Schema.String.annotate({ description: "ISO 3166-1 alpha-2 country code" })
}

/**
 * The compliance server: KYC, sanctions screening and transaction validation. Checks change
 * nothing, so they are read-only and idempotent.
 *
 * @example
 * ```ts
 * const { status } = yield* Compliance.kyc_check({ customer_id: "cus-42", full_name: "Grace Hopper", country: "US" })
 * const { match } = yield* Compliance.sanctions_screening({ customer_id: "cus-42", full_name: "Grace Hopper", country: "US" })
 * ```
 */
export const Compliance = Tool.server("compliance_server", {
  kyc_check: Tool.define({
    description: "Know-your-customer check: identity verification and a risk score (0–100)",
    input: Schema.Struct({ ...Person, date_of_birth: Schema.optionalKey(Schema.String) }),
    output: Schema.Struct({
      check_id: Schema.String,
      customer_id: Schema.String,
      status: Schema.Literals(["passed", "review", "failed"]),
      risk_score: Percent
    }),
    annotations: { readOnly: true, idempotent: true }
  }),
  sanctions_screening: Tool.define({
    description: "Screen a person against sanctions lists (OFAC SDN, EU, UN)",
    input: Schema.Struct(Person),
    output: Schema.Struct({
      screening_id: Schema.String,
      customer_id: Schema.String,
      match: Schema.Boolean,
      lists_checked: Schema.Array(Schema.String)
    }),
    annotations: { readOnly: true, idempotent: true }
  }),
  validate_transaction: Tool.define({
    description: "Approve or refuse a transfer before it runs; answers a transaction id to execute it under",
    input: Schema.Struct({
      from_account: Schema.String,
      to_account: Schema.String,
      amount_cents: PositiveInt,
      currency: Currency
    }),
    output: Schema.Struct({
      approved: Schema.Boolean,
      transaction_id: Schema.String,
      reason: Schema.optionalKey(Schema.String)
    }),
    annotations: { readOnly: true, idempotent: true }
  })
})

/**
 * The finance server: billing accounts and payment methods. `create_billing_account` is keyed
 * by `customer_id` (repeating it answers the same account).
 *
 * @example
 * ```ts
 * const { billing_account_id } = yield* Finance.create_billing_account({ customer_id: "cus-42", plan: "growth", currency: "USD" })
 * yield* Finance.setup_payment_method({ billing_account_id, type: "card", token: "tok_visa" })
 * ```
 */
export const Finance = Tool.server("finance_server", {
  create_billing_account: Tool.define({
    description: "Open a billing account for a customer (keyed by customer_id: repeating it answers the same account)",
    input: Schema.Struct({
      customer_id: Schema.String,
      plan: Schema.Literals(["starter", "growth", "enterprise"]),
      currency: Currency
    }),
    output: Schema.Struct({
      billing_account_id: Schema.String,
      customer_id: Schema.String,
      status: Schema.Literals(["active", "closed"])
    }),
    annotations: { idempotent: true }
  }),
  setup_payment_method: Tool.define({
    description: "Attach a payment method to a billing account and make it the default",
    input: Schema.Struct({
      billing_account_id: Schema.String,
      type: Schema.Literals(["card", "sepa_debit", "invoice"]),
      token: Schema.optionalKey(Schema.String),
      /** Repeating a request with the same key answers the first one's result and attaches nothing. */
      idempotency_key: Schema.optionalKey(Schema.String)
    }),
    output: Schema.Struct({
      payment_method_id: Schema.String,
      billing_account_id: Schema.String,
      type: Schema.String,
      is_default: Schema.Boolean
    }),
    annotations: { idempotent: false }
  }),
  find_billing_account: Tool.define({
    description: "A customer's billing account, if any (the active one first): resolves a create_billing_account call whose answer was lost",
    input: Schema.Struct({ customer_id: Schema.String }),
    output: Schema.Struct({
      customer_id: Schema.String,
      found: Schema.Boolean,
      billing_account_id: Schema.optionalKey(Schema.String),
      status: Schema.optionalKey(Schema.Literals(["active", "closed"]))
    }),
    annotations: { readOnly: true, idempotent: true }
  }),
  close_billing_account: Tool.define({
    description: "Compensation of create_billing_account: close the account (idempotent)",
    input: Schema.Struct({ billing_account_id: Schema.String }),
    output: Schema.Struct({ billing_account_id: Schema.String, status: Schema.Literals(["closed"]) }),
    annotations: { idempotent: true, destructive: true }
  })
})

/**
 * The ops server: tenants and their monitoring.
 *
 * @example
 * ```ts
 * const { tenant_id } = yield* Ops.create_tenant({ customer_id: "cus-42", tenant_name: "hopper-labs", region: "eu-west-1" })
 * yield* Ops.setup_monitoring({ tenant_id })
 * ```
 */
export const Ops = Tool.server("ops_server", {
  create_tenant: Tool.define({
    description: "Provision a tenant for a customer in a region (keyed by tenant_name: repeating it answers the same tenant)",
    input: Schema.Struct({
      customer_id: Schema.String,
      tenant_name: Schema.String,
      region: Schema.Literals(["us-east-1", "eu-west-1", "ap-southeast-1"])
    }),
    output: Schema.Struct({
      tenant_id: Schema.String,
      status: Schema.Literals(["provisioned", "provisioning"]),
      endpoint: Schema.String
    }),
    annotations: { idempotent: true }
  }),
  setup_monitoring: Tool.define({
    description: "Install dashboards and alert rules for a tenant",
    input: Schema.Struct({ tenant_id: Schema.String, checks: Schema.optionalKey(Schema.Array(Schema.String)) }),
    output: Schema.Struct({ success: Schema.Boolean, dashboard_url: Schema.String, alert_rules: Count }),
    annotations: { idempotent: true }
  }),
  find_tenant: Tool.define({
    description: "A tenant by name, if any (the live one first): resolves a create_tenant call whose answer was lost",
    input: Schema.Struct({ tenant_name: Schema.String }),
    output: Schema.Struct({
      tenant_name: Schema.String,
      found: Schema.Boolean,
      tenant_id: Schema.optionalKey(Schema.String),
      deleted: Schema.optionalKey(Schema.Boolean)
    }),
    annotations: { readOnly: true, idempotent: true }
  }),
  delete_tenant: Tool.define({
    description: "Compensation of create_tenant: deprovision a tenant and its data (idempotent)",
    input: Schema.Struct({ tenant_id: Schema.String }),
    output: Schema.Struct({ tenant_id: Schema.String, deleted: Schema.Boolean }),
    annotations: { idempotent: true, destructive: true }
  })
})

/**
 * The communication server: templated email and support tickets.
 *
 * @example
 * ```ts
 * yield* CommunicationServer.send_email({ to: "grace@example.com", template: "welcome", variables: { name: "Grace" } })
 * yield* CommunicationServer.create_support_ticket({ customer_id: "cus-42", subject: "Onboarding call", priority: "normal" })
 * ```
 */
export const CommunicationServer = Tool.server("communication_server", {
  send_email: Tool.define({
    description: "Send a templated email; not idempotent (a retry may send twice) unless it carries an idempotency_key",
    input: Schema.Struct({
      to: Schema.String,
      template: Schema.Literals(["welcome", "onboarding_failed", "receipt", "generic"]),
      subject: Schema.optionalKey(Schema.String),
      variables: Schema.optionalKey(Schema.Record(Schema.String, Schema.String)),
      /** Repeating a request with the same key answers the first one's result and sends nothing. */
      idempotency_key: Schema.optionalKey(Schema.String)
    }),
    output: Schema.Struct({ message_id: Schema.String, status: Schema.Literals(["queued", "sent"]) }),
    annotations: { idempotent: false, openWorld: true }
  }),
  create_support_ticket: Tool.define({
    description: "Open a support ticket for a customer",
    input: Schema.Struct({
      customer_id: Schema.String,
      subject: Schema.String,
      priority: Schema.Literals(["low", "normal", "high", "urgent"]),
      description: Schema.optionalKey(Schema.String),
      /** Repeating a request with the same key answers the first one's ticket and opens nothing. */
      idempotency_key: Schema.optionalKey(Schema.String)
    }),
    output: Schema.Struct({
      ticket_id: Schema.String,
      status: Schema.Literals(["open"]),
      queue_position: Count
    }),
    annotations: { idempotent: false }
  })
})
