/**
 * The chaos kit for flow suites (`FlowFacts`): calls sent to a tool and their arguments, faults
 * fired on a tool (a connection fault of its server counts), request keys, and a sandbox's
 * definitions rebuilt with the run's injector.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Ref } from "effect"
import { Chaos, FakeServer, Fault, FlowFacts, type Injector } from "../../chaos/index.ts"
import { Payment } from "./support.ts"

const call = (server: string, tool: string, n: number, args: object, end: Injector.CallEnd = "answered"): Injector.SentCall => ({
  server,
  tool,
  call: n,
  atMs: n * 10,
  args: JSON.stringify(args),
  end
})

const injection = (server: string, tool: string, kind: Fault.FaultKind): Injector.Injection => ({ atMs: 0, server, tool, call: 0, kind, fault: 0, detail: "" })

const run = {
  sent: [
    call("k8s", "kubectl_apply", 0, { namespace: "staging" }),
    call("k8s", "kubectl_apply", 1, { namespace: "production" }),
    call("hub", "send_alert", 0, { message: "down" }, "refused"),
    call("k8s", "kubectl_get", 0, [1, 2])
  ],
  log: [injection("hub", "send_alert", "DuplicateMessage"), injection("s3", "(connect)", "ServerDown")]
}

describe("FlowFacts", () => {
  it("callsTo: the calls to a tool (patterns allowed) whose arguments match, in order", () => {
    assert.deepStrictEqual(FlowFacts.callsTo(run, "k8s.kubectl_apply").map((c) => c.call), [0, 1])
    assert.deepStrictEqual(FlowFacts.callsTo(run, "k8s.kubectl_apply", (a) => a.namespace === "production").map((c) => c.call), [1])
    assert.deepStrictEqual(FlowFacts.callsTo(run, "k8s.*").map((c) => c.tool), ["kubectl_apply", "kubectl_apply", "kubectl_get"])
    assert.deepStrictEqual(FlowFacts.callsTo(run, "hub.send_notification"), [])
  })

  it("argsOf: the arguments as an object ({} for anything else)", () => {
    assert.strictEqual(FlowFacts.argsOf(run.sent[1]!).namespace, "production")
    assert.deepStrictEqual(FlowFacts.argsOf(run.sent[3]!), {})
  })

  it("faultFired: by kind and target; a connection fault of the server counts for its tools", () => {
    assert.isTrue(FlowFacts.faultFired(run, "DuplicateMessage", "hub.send_alert"))
    assert.isFalse(FlowFacts.faultFired(run, "LostResponse", "hub.send_alert"))
    assert.isFalse(FlowFacts.faultFired(run, "*", "hub.send_notification"))
    assert.isTrue(FlowFacts.faultFired(run, "*", "s3.upload_file"), "the server was down")
    assert.isTrue(FlowFacts.faultFired(run, "ServerDown"))
    assert.isFalse(FlowFacts.faultFired(run, "*", "k8s.kubectl_apply"))
  })

  it("requestKeyWhere: matching sends are each their own request, others one per identical arguments", () => {
    const key = FlowFacts.requestKeyWhere((c, args) => c.server === "k8s" && args.namespace === "production")
    const again = call("k8s", "kubectl_apply", 2, { namespace: "production" })
    assert.notStrictEqual(key(run.sent[1]!), key(again))
    assert.strictEqual(key(run.sent[0]!), key(call("k8s", "kubectl_apply", 5, { namespace: "staging" })))
  })

  it("definitions: a server built from a definition is rebuilt with the run's injector over the same state", async () => {
    const made = Effect.gen(function*() {
      const charges = yield* Ref.make(0)
      const payment = yield* FakeServer.fromDefinition({
        key: "payment",
        handlers: [FakeServer.handle(Payment.charge, ({ amount }) => Effect.as(Ref.update(charges, (n) => n + 1), { charge_id: "c1", amount }))]
      })
      return yield* FlowFacts.definitions({ payment }, ["payment"], { payment: Ref.get(charges) })
    })
    const result = await Effect.runPromise(Chaos.runOnce(
      { servers: made, program: Payment.charge({ order_id: "o1", amount: 5 }, { timeout: "5 seconds" }) },
      Fault.plan(0, [Fault.lostResponse("payment.charge")])
    ))
    assert.deepStrictEqual(result.log.map((i) => i.kind), ["LostResponse"], "the run's injector reached the rebuilt server")
    assert.strictEqual(result.snapshots.payment, 1, "the snapshot reads the same state the handler changed")
    const missing = await Effect.runPromiseExit(FlowFacts.definitions({}, ["nowhere"]))
    assert.isTrue(Exit.isFailure(missing))
  })
})
