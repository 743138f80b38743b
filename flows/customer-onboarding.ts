/**
 * The seeds' customer-onboarding workflow (seed 001, `depends_on`) as a DAG, with the seed's
 * retry policy (3 attempts, exponential backoff) and its "compensating transactions":
 *
 * ```text
 * validate_customer ──▶ create_accounts ──▶ provision_services ──▶ send_welcome
 * (kyc ∥ sanctions)     (billing account,    (tenant, then          (email ∥ support ticket;
 *                        then payment method) monitoring)            continues on error)
 * ```
 *
 * - `validate_customer` stops at a gate (`GateClosed` from "KYC passed" or "no sanctions match")
 *   when KYC does not pass or sanctions screening matches: nothing was created, nothing to undo.
 * - `create_accounts` and `provision_services` are undone when a later node fails: the billing
 *   account is closed (which detaches its payment method), the tenant deleted (with its
 *   monitoring). A create whose answer was lost is resolved by asking the server by business key
 *   (`find_billing_account`, `find_tenant`); if that fails too, the flow fails with
 *   `OutcomeUnknown`, never silently.
 * - `send_welcome` cannot be undone and does not undo the onboarding: a failed email or ticket
 *   leaves the customer onboarded, and the output says which welcome did not go out.
 * - a failed onboarding opens one internal support ticket with the reason (best effort).
 *
 * Run it on the built-in sandbox servers (in-process fakes, nothing real is touched):
 *
 * ```sh
 * npx tsx flows/customer-onboarding.ts                                          # a sample customer, exit 0
 * npx tsx flows/customer-onboarding.ts --input '{"country":"IR"}'               # sanctions match: rejected, exit 1
 * npx tsx flows/customer-onboarding.ts --input '{"payment_token":"tok_declined"}'  # the account is closed again, exit 1
 * npx tsx flows/customer-onboarding.ts --config .mcp.json                       # real servers
 * npx mcpflow plan flows/customer-onboarding.ts                                 # the DAG, its edges and compensations
 * npx vitest run test/flows/customer-onboarding.test.ts                         # sandbox runs and the chaos suite
 * ```
 * @module
 */
import { Effect, Schema } from "effect"
import { dag, Flow, type NodeOutcome, OutcomeUnknown, parallel, resolveByLookup, saga, step, verifiedUndo } from "../dsl/flow/index.ts"
import { main } from "../src/app/run/FlowFile.ts"
import { sandboxServers } from "./sandbox/index.ts"
import { Currency } from "./servers/commerce.ts"
import { CommunicationServer, Compliance, Finance, Ops } from "./servers/onboarding.ts"

// -----------------------------------------------------------------------------
// Input and output
// -----------------------------------------------------------------------------

const orDefault = <S extends Schema.Top>(schema: S, value: S["Encoded"]) =>
  schema.pipe(Schema.withDecodingDefaultKey(Effect.succeed(value)))

/** A new customer; every field has a sample default so the flow runs with no input. */
const Input = Schema.Struct({
  customer_id: orDefault(Schema.String, "cus-42"),
  full_name: orDefault(Schema.String, "Grace Hopper"),
  email: orDefault(Schema.String, "grace@example.com"),
  /** ISO 3166-1 alpha-2. */
  country: orDefault(Schema.String, "US"),
  plan: orDefault(Schema.Literals(["starter", "growth", "enterprise"]), "growth"),
  currency: orDefault(Currency, "USD"),
  payment_type: orDefault(Schema.Literals(["card", "sepa_debit", "invoice"]), "card"),
  payment_token: orDefault(Schema.String, "tok_visa"),
  tenant_name: orDefault(Schema.String, "hopper-labs"),
  region: orDefault(Schema.Literals(["us-east-1", "eu-west-1", "ap-southeast-1"]), "eu-west-1")
})
type Customer = typeof Input.Type

const Output = Schema.Struct({
  customer_id: Schema.String,
  status: Schema.Literal("onboarded"),
  billing_account_id: Schema.String,
  payment_method_id: Schema.String,
  tenant_id: Schema.String,
  endpoint: Schema.String,
  dashboard_url: Schema.String,
  /** The welcome cannot be undone and does not undo the onboarding: what went out. */
  welcome: Schema.Struct({
    email: Schema.NullOr(Schema.String),
    ticket: Schema.NullOr(Schema.String),
    error: Schema.optionalKey(Schema.String)
  })
})

/** Re-exported: a keyed call whose outcome could not be found out (see `resolveByLookup`). */
export { OutcomeUnknown }

// -----------------------------------------------------------------------------
// Policies
// -----------------------------------------------------------------------------

/** The seed's retry policy: 3 attempts, exponential backoff. Retries only what is safe to repeat. */
const retry3 = {
  retry: { maxAttempts: 3, backoff: { kind: "exponential", initial: "500 millis", max: "10 seconds" }, jitter: "full" },
  timeout: "30 seconds"
} as const

/** Lookups and compensations: idempotent, worth more patience. */
const patient = {
  retry: { maxAttempts: 5, backoff: { kind: "exponential", initial: "500 millis", max: "10 seconds" }, jitter: "full" },
  timeout: "30 seconds"
} as const



// -----------------------------------------------------------------------------
// The DAG's nodes (the seed's steps)
// -----------------------------------------------------------------------------

const person = (c: Customer) => ({ customer_id: c.customer_id, full_name: c.full_name, country: c.country })

const validateCustomer = (c: Customer) =>
  Effect.gen(function*() {
    const checks = yield* parallel("checks", {
      kyc: step("kyc_check", Compliance.kyc_check(person(c), { policy: retry3 })),
      sanctions: step("sanctions_screening", Compliance.sanctions_screening(person(c), { policy: retry3 }))
    })
    yield* Flow.gate(
      "KYC passed",
      checks.kyc.status === "passed",
      () => `${checks.kyc.status === "review" ? "KYC needs a manual review" : "KYC failed"} for ${c.customer_id} (risk score ${checks.kyc.risk_score})`
    )
    yield* Flow.gate(
      "no sanctions match",
      !checks.sanctions.match,
      () => `${c.customer_id} matched a sanctions list (checked ${checks.sanctions.lists_checked.join(", ")})`
    )
    return { kyc_check_id: checks.kyc.check_id, screening_id: checks.sanctions.screening_id }
  })

const createAccounts = (c: Customer) =>
  Effect.gen(function*() {
    const { billing_account_id } = yield* step(
      "create_billing_account",
      resolveByLookup(
        Finance.create_billing_account({ customer_id: c.customer_id, plan: c.plan, currency: c.currency }, { policy: retry3 }).pipe(
          Effect.map((a) => ({ billing_account_id: a.billing_account_id }))
        ),
        Finance.find_billing_account({ customer_id: c.customer_id }, { policy: patient }).pipe(
          Effect.map((f) =>
            f.found && f.status === "active" && f.billing_account_id !== undefined ? { billing_account_id: f.billing_account_id } : undefined
          )
        ),
        { action: "finance_server.create_billing_account", key: c.customer_id }
      ),
      {
        description: "keyed by customer id",
        compensate: ({ billing_account_id }) =>
          verifiedUndo(
            Finance.close_billing_account({ billing_account_id }, { policy: patient }),
            Finance.find_billing_account({ customer_id: c.customer_id }, { policy: patient }).pipe(
              Effect.map((f) => !(f.found && f.status === "active"))
            )
          )
      }
    )
    // Keyed: a repeated request (a retry, a duplicated message) attaches nothing more. Undone by closing the account.
    const method = yield* step(
      "setup_payment_method",
      Finance.setup_payment_method({
        billing_account_id,
        type: c.payment_type,
        token: c.payment_token,
        idempotency_key: `onboarding:${c.customer_id}:payment_method`
      }, { policy: retry3 })
    )
    return { billing_account_id, payment_method_id: method.payment_method_id }
  })

const provisionServices = (c: Customer) =>
  Effect.gen(function*() {
    const tenant = yield* step(
      "create_tenant",
      resolveByLookup(
        Ops.create_tenant({ customer_id: c.customer_id, tenant_name: c.tenant_name, region: c.region }, { policy: retry3 }).pipe(
          Effect.map((t) => ({ tenant_id: t.tenant_id, endpoint: t.endpoint }))
        ),
        Ops.find_tenant({ tenant_name: c.tenant_name }, { policy: patient }).pipe(
          Effect.map((f) =>
            f.found && f.deleted !== true && f.tenant_id !== undefined
              ? { tenant_id: f.tenant_id, endpoint: `https://${c.tenant_name}.${c.region}.app.example.com` }
              : undefined
          )
        ),
        { action: "ops_server.create_tenant", key: c.tenant_name }
      ),
      {
        description: "keyed by tenant name",
        compensate: ({ tenant_id }) =>
          verifiedUndo(
            Ops.delete_tenant({ tenant_id }, { policy: patient }),
            Ops.find_tenant({ tenant_name: c.tenant_name }, { policy: patient }).pipe(Effect.map((f) => !(f.found && f.deleted !== true)))
          )
      }
    )
    const monitoring = yield* step("setup_monitoring", Ops.setup_monitoring({ tenant_id: tenant.tenant_id }, { policy: retry3 }))
    return { ...tenant, dashboard_url: monitoring.dashboard_url }
  })

const sendWelcome = (c: Customer) =>
  parallel("welcome", {
    email: step(
      "send_email",
      CommunicationServer.send_email({
        to: c.email,
        template: "welcome",
        variables: { name: c.full_name, plan: c.plan },
        idempotency_key: `onboarding:${c.customer_id}:welcome`
      }, { policy: retry3 })
    ),
    ticket: step(
      "create_support_ticket",
      CommunicationServer.create_support_ticket({
        customer_id: c.customer_id,
        subject: `Onboarding call for ${c.full_name}`,
        priority: "normal",
        description: `New ${c.plan} customer, tenant ${c.tenant_name} (${c.region})`,
        idempotency_key: `onboarding:${c.customer_id}:welcome_ticket`
      }, { policy: retry3 })
    )
  }, { mode: "settle" })

const succeeded = <A>(name: string, outcome: NodeOutcome<A>): Effect.Effect<A> =>
  outcome._tag === "Succeeded"
    ? Effect.succeed(outcome.value)
    // The DAG fails when a node without continueOnError fails: its outcome is always a success here.
    : Effect.die(new Error(`onboarding: node ${name} did not succeed (${outcome._tag})`))

// -----------------------------------------------------------------------------
// The flow
// -----------------------------------------------------------------------------

/**
 * The onboarding DAG.
 *
 * @example
 * ```ts
 * const onboarded = yield* Flow.run(customerOnboarding, { customer_id: "cus-7", full_name: "Ada Lovelace", email: "ada@example.com" })
 * onboarded.tenant_id
 * ```
 */
const customerOnboarding = Flow.make({
  name: "customer-onboarding",
  description: "Validate a customer, open their accounts, provision their services and welcome them; undo the accounts and services when a later step fails",
  input: Input,
  output: Output,
  uses: [
    Compliance.kyc_check,
    Compliance.sanctions_screening,
    Finance.create_billing_account,
    Finance.find_billing_account,
    Finance.setup_payment_method,
    Finance.close_billing_account,
    Ops.create_tenant,
    Ops.find_tenant,
    Ops.setup_monitoring,
    Ops.delete_tenant,
    CommunicationServer.send_email,
    CommunicationServer.create_support_ticket
  ],
  run: (c) =>
    Flow.onFailure(
      saga(
        "onboarding",
        Effect.gen(function*() {
          const { outcomes } = yield* dag("customer_onboarding")
            .node("validate_customer", { description: "compliance_server: kyc_check ∥ sanctions_screening" }, () => validateCustomer(c))
            .node(
              "create_accounts",
              { needs: ["validate_customer"], description: "finance_server: create_billing_account → setup_payment_method" },
              () => createAccounts(c)
            )
            .node(
              "provision_services",
              { needs: ["create_accounts"], description: "ops_server: create_tenant → setup_monitoring" },
              () => provisionServices(c)
            )
            .node(
              "send_welcome",
              {
                needs: ["provision_services"],
                continueOnError: true,
                description: "communication_server: send_email ∥ create_support_ticket (cannot be undone; does not undo the onboarding)"
              },
              () => sendWelcome(c)
            )
            .run()
          const accounts = yield* succeeded("create_accounts", outcomes.create_accounts)
          const services = yield* succeeded("provision_services", outcomes.provision_services)
          const welcome = outcomes.send_welcome
          const email = welcome._tag === "Succeeded" && welcome.value.email._tag === "Success" ? welcome.value.email.success.message_id : null
          const ticket = welcome._tag === "Succeeded" && welcome.value.ticket._tag === "Success" ? welcome.value.ticket.success.ticket_id : null
          const error = welcome._tag === "Failed"
            ? welcome.message
            : welcome._tag === "Succeeded"
            ? [welcome.value.email, welcome.value.ticket].flatMap((r) => (r._tag === "Failure" ? [r.failure.message] : [])).join("; ")
            : welcome.why
          return {
            customer_id: c.customer_id,
            status: "onboarded" as const,
            billing_account_id: accounts.billing_account_id,
            payment_method_id: accounts.payment_method_id,
            tenant_id: services.tenant_id,
            endpoint: services.endpoint,
            dashboard_url: services.dashboard_url,
            welcome: { email, ticket, ...(error === "" ? {} : { error }) }
          }
        })
      ),
      // After the compensations: one internal ticket with the reason (best effort).
      (failure) =>
        step(
          "report failure",
          CommunicationServer.create_support_ticket({
            customer_id: c.customer_id,
            subject: `Onboarding failed for ${c.full_name}`,
            priority: failure.errorTag === "GateClosed" ? "normal" : "high",
            description: failure.message,
            idempotency_key: `onboarding:${c.customer_id}:failed`
          })
        ),
      { description: "the customer was rejected or a node failed" }
    )
})

export default customerOnboarding

/** The built-in sandbox: fake compliance, finance, ops and communication servers (rules in `flows/sandbox/onboarding.ts`). */
export const sandbox = Effect.map(sandboxServers(), (all) => ({
  compliance_server: all.compliance_server!,
  finance_server: all.finance_server!,
  ops_server: all.ops_server!,
  communication_server: all.communication_server!
}))

main(import.meta, customerOnboarding, { sandbox })
