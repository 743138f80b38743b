/**
 * Sandbox fakes of the onboarding servers: `compliance_server`, `finance_server`, `ops_server`
 * and `communication_server`. Deterministic: people from KP, IR, SY or CU match sanctions
 * lists; names starting with "Test Fraud" fail KYC; the card token `tok_declined` fails
 * payment-method setup. Billing accounts, tenants and sent emails are kept in one `Ref`.
 * `setup_payment_method`, `send_email` and `create_support_ticket` honour an optional
 * `idempotency_key`: a repeated request (a retry, a duplicated message) answers the first one.
 *
 * @example
 * ```ts
 * const { servers, state } = yield* makeOnboardingSandbox
 * ```
 * @module
 */
import { Deferred, Effect, Ref } from "effect"
import { FakeServer, FakeState } from "../../chaos/index.ts"
import type { InProcessServerConfig } from "../../src/runtime/gateway/ServerConfig.ts"
import { CommunicationServer, Compliance, Finance, Ops } from "../servers/onboarding.ts"
import { hash, Ids, latency, refuse, sandboxServer } from "./support.ts"

/**
 * What the onboarding fakes keep.
 *
 * @example
 * ```ts
 * const { tenants } = yield* Ref.get(state)
 * ```
 */
export interface OnboardingState {
  /** Billing accounts by id. */
  readonly accounts: ReadonlyMap<string, { readonly customer_id: string; readonly status: "active" | "closed"; readonly payment_methods: number }>
  /** Tenants by id. */
  readonly tenants: ReadonlyMap<string, { readonly customer_id: string; readonly tenant_name: string; readonly region: string; readonly deleted: boolean }>
  readonly emails: ReadonlyArray<{ readonly message_id: string; readonly to: string; readonly template: string }>
  readonly tickets: ReadonlyArray<{ readonly ticket_id: string; readonly customer_id: string; readonly subject: string }>
}

/** Requests seen under an idempotency key, by `tool:key`, with their (coming) answer. */
type Claims = Ref.Ref<ReadonlyMap<string, Deferred.Deferred<unknown, unknown>>>

const SANCTIONED = new Set(["KP", "IR", "SY", "CU"])
const LISTS = ["OFAC SDN", "EU Consolidated", "UN Security Council"]

const findKey = <V>(m: ReadonlyMap<string, V>, p: (v: V) => boolean) => [...m].find(([, v]) => p(v))?.[0]

/**
 * Runs `work` once per `tool:key`: a repeated request (a retry, a duplicated message) waits for
 * and answers the first one's result. Without a key, `work` runs every time.
 */
const once = <A, E>(claims: Claims, tool: string, key: string | undefined, work: Effect.Effect<A, E>): Effect.Effect<A, E> =>
  key === undefined ? work : Effect.gen(function*() {
    const id = `${tool}:${key}`
    const mine = yield* Deferred.make<A, E>()
    const first = yield* Ref.modify(claims, (m): readonly [Deferred.Deferred<unknown, unknown> | undefined, ReadonlyMap<string, Deferred.Deferred<unknown, unknown>>] => {
      const seen = m.get(id)
      return seen !== undefined ? [seen, m] : [undefined, new Map(m).set(id, mine as Deferred.Deferred<unknown, unknown>)]
    })
    if (first !== undefined) return yield* (Deferred.await(first) as Effect.Effect<A, E>)
    const exit = yield* Effect.exit(work)
    // A refusal releases the key (nothing happened): the next request runs again.
    if (exit._tag === "Failure") {
      yield* Ref.update(claims, (m) => {
        const next = new Map(m)
        next.delete(id)
        return next
      })
    }
    yield* Deferred.done(mine, exit)
    return yield* exit
  })

/**
 * The onboarding fakes and their state.
 *
 * @example
 * ```ts
 * const { servers } = yield* makeOnboardingSandbox
 * ```
 */
export const makeOnboardingSandbox: Effect.Effect<{
  readonly servers: Record<string, InProcessServerConfig>
  readonly state: Ref.Ref<OnboardingState>
}> = Effect.gen(function*() {
  const state = yield* FakeState.ref<OnboardingState>("onboarding", { accounts: new Map(), tenants: new Map(), emails: [], tickets: [] })
  const claims: Claims = yield* Ref.make<ReadonlyMap<string, Deferred.Deferred<unknown, unknown>>>(new Map())
  const checkIds = yield* Ids.make("kyc_")
  const screeningIds = yield* Ids.make("scr_")
  const txnIds = yield* Ids.make("txn_")
  const accountIds = yield* Ids.make("ba_")
  const methodIds = yield* Ids.make("pm_")
  const tenantIds = yield* Ids.make("tnt_")
  const messageIds = yield* Ids.make("msg_")
  const ticketIds = yield* Ids.make("TCK-", 4100)

  const compliance = yield* sandboxServer("compliance_server", [
    FakeServer.handle(Compliance.kyc_check, ({ customer_id, full_name, country }) =>
      Effect.gen(function*() {
        yield* latency(900)
        const risk_score = full_name.startsWith("Test Fraud") ? 92 : (hash(`${full_name}|${country}`) % 35) + (SANCTIONED.has(country) ? 50 : 5)
        const status = risk_score < 50 ? "passed" as const : risk_score < 75 ? "review" as const : "failed" as const
        return { check_id: yield* checkIds.next, customer_id, status, risk_score }
      })),
    FakeServer.handle(Compliance.sanctions_screening, ({ customer_id, country }) =>
      Effect.gen(function*() {
        yield* latency(700)
        return { screening_id: yield* screeningIds.next, customer_id, match: SANCTIONED.has(country), lists_checked: LISTS }
      })),
    FakeServer.handle(Compliance.validate_transaction, ({ from_account, to_account, amount_cents }) =>
      Effect.gen(function*() {
        yield* latency(300)
        const transaction_id = yield* txnIds.next
        if (from_account === to_account) return { approved: false, transaction_id, reason: "source and destination accounts are the same" }
        if (amount_cents > 100_000_000) return { approved: false, transaction_id, reason: "amount exceeds the single-transfer limit (1,000,000.00)" }
        return { approved: true, transaction_id }
      }))
  ])

  const finance = yield* sandboxServer("finance_server", [
    FakeServer.handle(Finance.create_billing_account, ({ customer_id }) =>
      Effect.gen(function*() {
        yield* latency(400)
        const existing = findKey((yield* Ref.get(state)).accounts, (a) => a.customer_id === customer_id && a.status === "active")
        if (existing !== undefined) return { billing_account_id: existing, customer_id, status: "active" as const }
        const billing_account_id = yield* accountIds.next
        yield* Ref.update(state, (s) => ({
          ...s,
          accounts: new Map(s.accounts).set(billing_account_id, { customer_id, status: "active" as const, payment_methods: 0 })
        }))
        return { billing_account_id, customer_id, status: "active" as const }
      })),
    FakeServer.handle(Finance.setup_payment_method, ({ billing_account_id, type, token, idempotency_key }) =>
      once(claims, "setup_payment_method", idempotency_key, Effect.gen(function*() {
        yield* latency(550)
        const account = (yield* Ref.get(state)).accounts.get(billing_account_id)
        if (account === undefined || account.status !== "active") return yield* refuse(`billing account ${billing_account_id} is not active`)
        if (token === "tok_declined") return yield* refuse("payment method verification failed (card declined)")
        const payment_method_id = yield* methodIds.next
        yield* Ref.update(state, (s) => ({
          ...s,
          accounts: new Map(s.accounts).set(billing_account_id, { ...account, payment_methods: account.payment_methods + 1 })
        }))
        return { payment_method_id, billing_account_id, type, is_default: true }
      }))),
    FakeServer.handle(Finance.find_billing_account, ({ customer_id }) =>
      Effect.gen(function*() {
        yield* latency(60)
        const { accounts } = yield* Ref.get(state)
        const id = findKey(accounts, (a) => a.customer_id === customer_id && a.status === "active") ?? findKey(accounts, (a) => a.customer_id === customer_id)
        if (id === undefined) return { customer_id, found: false }
        return { customer_id, found: true, billing_account_id: id, status: accounts.get(id)!.status }
      })),
    FakeServer.handle(Finance.close_billing_account, ({ billing_account_id }) =>
      Effect.gen(function*() {
        yield* latency(300)
        const account = (yield* Ref.get(state)).accounts.get(billing_account_id)
        if (account === undefined) return yield* refuse(`No such billing account: '${billing_account_id}'`)
        yield* Ref.update(state, (s) => ({ ...s, accounts: new Map(s.accounts).set(billing_account_id, { ...account, status: "closed" as const }) }))
        return { billing_account_id, status: "closed" as const }
      }))
  ])

  const ops = yield* sandboxServer("ops_server", [
    FakeServer.handle(Ops.create_tenant, ({ customer_id, tenant_name, region }) =>
      Effect.gen(function*() {
        yield* latency(1200)
        const endpoint = `https://${tenant_name}.${region}.app.example.com`
        const existing = findKey((yield* Ref.get(state)).tenants, (t) => t.tenant_name === tenant_name && !t.deleted)
        if (existing !== undefined) return { tenant_id: existing, status: "provisioned" as const, endpoint }
        const tenant_id = yield* tenantIds.next
        yield* Ref.update(state, (s) => ({
          ...s,
          tenants: new Map(s.tenants).set(tenant_id, { customer_id, tenant_name, region, deleted: false })
        }))
        return { tenant_id, status: "provisioned" as const, endpoint }
      })),
    FakeServer.handle(Ops.setup_monitoring, ({ tenant_id, checks }) =>
      Effect.gen(function*() {
        yield* latency(600)
        const tenant = (yield* Ref.get(state)).tenants.get(tenant_id)
        if (tenant === undefined || tenant.deleted) return yield* refuse(`No such tenant: '${tenant_id}'`)
        return { success: true, dashboard_url: `https://grafana.example.com/d/${tenant_id}/overview`, alert_rules: checks?.length ?? 6 }
      })),
    FakeServer.handle(Ops.find_tenant, ({ tenant_name }) =>
      Effect.gen(function*() {
        yield* latency(60)
        const { tenants } = yield* Ref.get(state)
        const id = findKey(tenants, (t) => t.tenant_name === tenant_name && !t.deleted) ?? findKey(tenants, (t) => t.tenant_name === tenant_name)
        if (id === undefined) return { tenant_name, found: false }
        return { tenant_name, found: true, tenant_id: id, deleted: tenants.get(id)!.deleted }
      })),
    FakeServer.handle(Ops.delete_tenant, ({ tenant_id }) =>
      Effect.gen(function*() {
        yield* latency(800)
        const tenant = (yield* Ref.get(state)).tenants.get(tenant_id)
        if (tenant === undefined) return { tenant_id, deleted: false }
        yield* Ref.update(state, (s) => ({ ...s, tenants: new Map(s.tenants).set(tenant_id, { ...tenant, deleted: true }) }))
        return { tenant_id, deleted: true }
      }))
  ])

  const communication = yield* sandboxServer("communication_server", [
    FakeServer.handle(CommunicationServer.send_email, ({ to, template, idempotency_key }) =>
      once(claims, "send_email", idempotency_key, Effect.gen(function*() {
        yield* latency(250)
        const message_id = yield* messageIds.next
        yield* Ref.update(state, (s) => ({ ...s, emails: [...s.emails, { message_id, to, template }] }))
        return { message_id, status: "queued" as const }
      }))),
    FakeServer.handle(CommunicationServer.create_support_ticket, ({ customer_id, subject, idempotency_key }) =>
      once(claims, "create_support_ticket", idempotency_key, Effect.gen(function*() {
        yield* latency(300)
        const ticket_id = yield* ticketIds.next
        const s = yield* Ref.updateAndGet(state, (st) => ({ ...st, tickets: [...st.tickets, { ticket_id, customer_id, subject }] }))
        return { ticket_id, status: "open" as const, queue_position: s.tickets.length }
      })))
  ])

  return {
    servers: { compliance_server: compliance, finance_server: finance, ops_server: ops, communication_server: communication },
    state
  }
})
