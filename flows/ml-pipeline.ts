/**
 * The seeds' multi-server ML pipeline (seed 004): process customer data and train, export,
 * store, encrypt and deploy a recommendation model across six MCP servers.
 *
 * 1. **extract** (parallel): the SQL extraction on `data` next to the compliance audit entry on
 *    `security`.
 * 2. **store**: the extracted dataset on `storage` (replicated).
 * 3. **preprocess**: clean, normalize and engineer features on `compute`.
 * 4. **start training**: `train_model` answers a job id at once; the step's idempotency key
 *    (`Flow.idempotencyKey`) makes a repeated request answer the same job, so it is retried.
 * 5. **while training** (parallel, fail-fast): API keys and the training webhook on
 *    `integration` (the keys are revoked if the pipeline fails later), the completion alert and
 *    the dashboard on `notification`, the dataset backup on `storage`, the authorization of the
 *    training job on `security` — and the **training** branch, which waits for the job's webhook
 *    callback (the signal `training done`, see `TrainingDone`) and meanwhile polls `gpu_status`
 *    until the job completes, with a durable sleep between polls (`Flow.awaitCallback`: a
 *    journaled run can park there and be resumed; up to `maxTrainingMinutes`; three failed polls
 *    in a row stop it).
 * 6. **gate "quality gate"**: the trained model's accuracy must reach `minAccuracy` (else `GateClosed`).
 * 7. **deploy**: export the model (ONNX), store it under `/models/<model>/`, encrypt it (AES-256),
 *    then POST it to the serving API (with an `Idempotency-Key` header: one deployment per run,
 *    even when the request is retried), each behind a gate ("model exported", "model stored",
 *    "model encrypted", "deployment accepted") that stops the run with `GateClosed` when the
 *    answer says it did not work. A model is never deployed unless training completed, the
 *    quality gate passed and the export succeeded.
 * 8. **notify** (settle-all): Slack and email to the team, and the final audit entry.
 * 9. **on failure** (`Flow.onFailure`): exactly one Slack message to the team naming the cause; the
 *    run then fails with that typed cause (exit 1) after revoking the keys it created.
 *
 * Run it on the built-in sandbox servers (in-process fakes, training takes 3 s of clock time):
 *
 * ```sh
 * npx tsx flows/ml-pipeline.ts                                         # train, deploy, notify; exit 0
 * npx tsx flows/ml-pipeline.ts --input '{"minAccuracy":0.95}'          # the gate rejects the model: exit 1, keys revoked
 * npx tsx flows/ml-pipeline.ts --input '{"permissions":["admin_override"]}'   # authorization denied: exit 1
 * npx tsx flows/ml-pipeline.ts --input '{"pollIntervalSeconds":120}'   # polls 2 min apart: a journaled run parks between polls
 * npx tsx flows/ml-pipeline.ts --json                                  # one JSON event per line
 * npx tsx flows/ml-pipeline.ts --config .mcp.json                      # real servers
 * npx mcpflow plan flows/ml-pipeline.ts                                # its structure, without calling anything
 * npx vitest run test/flows/ml-pipeline.test.ts                        # sandbox runs and the chaos suite (ml-pipeline.chaos.ts)
 * ```
 * @module
 */
import { Clock, DateTime, Duration, Effect, Option, Result, Schedule, Schema } from "effect"
import { Flow, parallel, step } from "../dsl/flow/index.ts"
import { main } from "../src/app/run/FlowFile.ts"
import { sandboxServers } from "./sandbox/index.ts"
import { PositiveInt, Ratio } from "./servers/common.ts"
import { Compute, Data, Integration, Notification, Security, Storage, TrainingJob } from "./servers/ml.ts"

// -----------------------------------------------------------------------------
// Input and output
// -----------------------------------------------------------------------------

const orDefault = <S extends Schema.Top>(schema: S, value: S["Encoded"]) =>
  schema.pipe(Schema.withDecodingDefaultKey(Effect.succeed(value)))

const Positive = Schema.Finite.check(Schema.isGreaterThan(0))

/** What to train; every field has the seed's value as its default, so the flow runs with no input. */
const Input = Schema.Struct({
  /** The extraction query (its table must exist on the data server). */
  query: orDefault(Schema.String, "SELECT * FROM customer_transactions WHERE date >= '2024-01-01'"),
  /** The model's name: its storage folder and its name on the serving API. */
  model: orDefault(Schema.String.check(Schema.isPattern(/^[A-Za-z0-9][\w.-]*$/)), "recommendation_v2.1"),
  algorithm: orDefault(Schema.String, "collaborative_filtering"),
  epochs: orDefault(PositiveInt, 100),
  learningRate: orDefault(Positive, 0.001),
  batchSize: orDefault(PositiveInt, 1024),
  /** The least accuracy a model needs to be deployed. */
  minAccuracy: orDefault(Ratio, 0.9),
  /** Time between two polls of the training job (the seeds poll every 30 s; the sandbox trains in 3 s). */
  pollIntervalSeconds: orDefault(Positive, 1),
  /** How long training may take before the pipeline gives up (the seeds' `max_duration`). */
  maxTrainingMinutes: orDefault(Positive, 30),
  /** The permissions the training job needs on its resource. */
  permissions: orDefault(Schema.Array(Schema.String), ["read_training_data", "write_model_artifacts"]),
  /** Where the serving infrastructure accepts deployments. */
  servingUrl: orDefault(Schema.String, "https://ml-serving.internal/deployments"),
  slackChannel: orDefault(Schema.String, "#ml-team"),
  emailRecipients: orDefault(Schema.Array(Schema.String), ["data_science_team", "product_managers"])
})

const Output = Schema.Struct({
  model: Schema.String,
  jobId: Schema.String,
  accuracy: Schema.Finite,
  /** How many times the training job was polled, and the clock time it took. */
  polls: Schema.Int,
  trainingSeconds: Schema.Finite,
  /** The stored (and encrypted) model file. */
  modelPath: Schema.String,
  encryptedPath: Schema.String,
  modelVersion: Schema.Int,
  /** The serving API's id for the deployment. */
  deploymentId: Schema.String,
  backupId: Schema.String,
  apiKeys: Schema.Array(Schema.String),
  /** The notifications that went out (`slack`, `email`, `audit`); one that failed is left out. */
  notified: Schema.Array(Schema.String)
})

// -----------------------------------------------------------------------------
// Typed stops
// -----------------------------------------------------------------------------

/**
 * The training job ended `failed` (or vanished).
 *
 * @example
 * ```ts
 * new TrainingFailed({ jobId: "train_job_892341", progress: 60, detail: "status failed" }).message
 * ```
 */
export class TrainingFailed extends Schema.TaggedError<TrainingFailed>()("TrainingFailed", {
  jobId: Schema.String,
  progress: Schema.Finite,
  detail: Schema.String
}) {
  override get message(): string {
    return `training job ${this.jobId} failed at ${this.progress}%: ${this.detail}`
  }
}

/**
 * Training did not complete within `maxTrainingMinutes`.
 *
 * @example
 * ```ts
 * new TrainingTimedOut({ jobId: "train_job_892341", waitedSeconds: 1800, progress: 45 }).message
 * ```
 */
export class TrainingTimedOut extends Schema.TaggedError<TrainingTimedOut>()("TrainingTimedOut", {
  jobId: Schema.String,
  waitedSeconds: Schema.Finite,
  progress: Schema.Finite
}) {
  override get message(): string {
    return `training job ${this.jobId} still running after ${this.waitedSeconds}s (${this.progress}%)`
  }
}

/**
 * The security server refused permissions the training job needs.
 *
 * @example
 * ```ts
 * new AuthorizationDenied({ resource: "ml_model_training_job_1", denied: ["admin_override"] }).message
 * ```
 */
export class AuthorizationDenied extends Schema.TaggedError<AuthorizationDenied>()("AuthorizationDenied", {
  resource: Schema.String,
  denied: Schema.Array(Schema.String)
}) {
  override get message(): string {
    return `authorization denied on ${this.resource}: ${this.denied.join(", ")}`
  }
}

// -----------------------------------------------------------------------------
// Policies
// -----------------------------------------------------------------------------

/** Transient failures: 3 retries, 500 ms doubling, at most 10 s. */
const retry = { maxAttempts: 4, backoff: { kind: "exponential", initial: "500 millis", max: "10 seconds", factor: 2 } } as const
const quick = { retry, timeout: "30 seconds" } as const
/** Failures a repeated call cannot change. */
const permanent: ReadonlySet<string> = new Set(["InvalidInput", "NotAllowed", "UnknownTool", "AuthRequired"])


/** A call that must not be repeated once it may have reached its server still retries failures that surely did not. */
const once = { retry, timeout: "1 minute" } as const

const DeploymentAnswer = Schema.Struct({ id: Schema.String })
const decodeDeployment = Schema.decodeUnknownOption(DeploymentAnswer)

/** The deployment id in the serving API's answer (`{ id }`), or "" when it has none. */
const idOf = (body: Schema.Json): string => Option.match(decodeDeployment(body), { onNone: () => "", onSome: (d) => d.id })

// -----------------------------------------------------------------------------
// Training: a long-running job polled to completion
// -----------------------------------------------------------------------------

interface Trained {
  readonly job: typeof TrainingJob.Type
  readonly polls: number
  readonly waitedSeconds: number
}

/**
 * The training job's webhook callback: the integration server's `/model/training/status`
 * endpoint (set up by the "training webhook" step) receives the job's final status and delivers
 * it to the run as this signal (`mcpflow signal <run> "training done" --payload '<job JSON>'`, or
 * `Flow.sendSignal(mlPipeline, runId, TrainingDone, job)`).
 *
 * @example
 * ```ts
 * yield* Flow.sendSignal(mlPipeline, runId, TrainingDone, { job_id: "train_job_1", status: "completed", progress_percent: 100, accuracy: 0.943 })
 * ```
 */
export const TrainingDone = Flow.signal("training done", TrainingJob)

/**
 * Waits for the training job's end (`Flow.awaitCallback`): its webhook callback
 * ({@link TrainingDone}), and meanwhile — in case the callback never comes — polls the job
 * every `intervalSeconds` (journaled polls, durable sleeps between them), up to `maxSeconds` in
 * all. Whichever says the job ended first wins. A poll retries its own transient failures; three
 * failed polls in a row end the wait with the last failure.
 */
const awaitTraining = (jobId: string, intervalSeconds: number, maxSeconds: number) => {
  let progress = 0
  const failed = (job: typeof TrainingJob.Type | undefined) =>
    job === undefined
      ? new TrainingFailed({ jobId, progress, detail: "the compute server no longer knows the job" })
      : job.status === "failed"
      ? new TrainingFailed({ jobId, progress: job.progress_percent, detail: "the job ended with status failed" })
      : undefined
  return Effect.flatMap(Clock.currentTimeMillis, (startedAt) =>
    Flow.awaitCallback("job", {
      signal: TrainingDone,
      timeout: Duration.seconds(maxSeconds),
      poll: {
        check: Compute.gpu_status({ job_id: jobId }),
        done: (status) => {
          progress = status.job?.progress_percent ?? progress
          return status.job?.status === "completed"
        },
        failed: (status) => failed(status.job),
        every: Duration.seconds(intervalSeconds),
        failuresInARow: 3,
        policy: quick,
        description: `poll the training job every ${intervalSeconds}s, up to ${maxSeconds}s`
      },
      description: `the training webhook's callback ("training done"), else poll gpu_status every ${intervalSeconds}s; up to ${maxSeconds}s`
    }).pipe(
      Effect.flatMap((ended): Effect.Effect<Trained, TrainingFailed> => {
        if (ended.by === "poll") {
          return ended.value.job === undefined
            ? Effect.fail(failed(undefined)!)
            : Effect.succeed({ job: ended.value.job, polls: ended.polls, waitedSeconds: ended.waitedMs / 1000 })
        }
        const error = ended.value.job_id === jobId
          ? failed(ended.value)
          : new TrainingFailed({ jobId, progress, detail: `the callback named another job (${ended.value.job_id})` })
        if (error !== undefined) return Effect.fail(error)
        if (ended.value.status !== "completed") {
          return Effect.fail(new TrainingFailed({ jobId, progress: ended.value.progress_percent, detail: `the callback said ${ended.value.status}` }))
        }
        // By callback: the time waited as this process saw it (not journaled).
        return Effect.map(Clock.currentTimeMillis, (now) => ({ job: ended.value, polls: 0, waitedSeconds: Math.max(0, now - startedAt) / 1000 }))
      }),
      Effect.catchTag("CallbackTimedOut", (timedOut) => Effect.fail(new TrainingTimedOut({ jobId, waitedSeconds: timedOut.waitedMs / 1000, progress })))
    ))
}

// -----------------------------------------------------------------------------
// The flow
// -----------------------------------------------------------------------------

/**
 * The pipeline.
 *
 * @example
 * ```ts
 * const deployed = yield* Flow.run(mlPipeline, { model: "recommendation_v2.1" })
 * deployed.accuracy // => 0.943
 * ```
 */
const mlPipeline = Flow.make({
  name: "ml-pipeline",
  description: "Extract, store and preprocess customer data, train a model (polled to completion), then export, store, encrypt and deploy it and tell the team",
  input: Input,
  output: Output,
  uses: [Data, Compute, Storage, Integration, Security, Notification],
  run: (input) =>
    Effect.gen(function*() {
      const day = yield* step("run date", Effect.map(DateTime.now, (now) => DateTime.formatIsoDateUtc(now)), {
        description: "the date in file names (journaled: a resumed run keeps it)"
      })
      const compact = day.replaceAll("-", "")

      const pipeline = Effect.gen(function*() {
        // 1. Extraction next to the compliance audit entry.
        const extracted = yield* parallel("extract", {
          data: step("sql query", Data.sql_query({ query: input.query }, { timeout: "5 minutes" }), {
            policy: { retry, timeout: "5 minutes" },
            idempotent: true
          }),
          audit: step(
            "audit data access",
            Security.audit_log({
              action: "data_access",
              resource: /\bfrom\s+([\w.]+)/i.exec(input.query)?.[1] ?? "query",
              actor: "ml-pipeline",
              details: { query: input.query, purpose: `train ${input.model}` }
            }),
            { policy: once }
          )
        }, { description: "the query and its audit entry, at once" })
        yield* Flow.gate("extracted", extracted.data.success, "the query did not succeed")

        // 2. Store the dataset (3× replicated).
        const dataset = yield* step(
          "store dataset",
          Storage.upload_file({
            path: `/data/customer_data_${compact}.parquet`,
            source: `sql:${input.query}`,
            size_mb: extracted.data.size_mb,
            metadata: { rows: extracted.data.row_count, audit_id: extracted.audit.audit_id }
          }),
          { policy: once }
        )
        yield* Flow.gate("dataset stored", dataset.success, `upload of ${dataset.path} did not succeed`)

        // 3. Preprocess.
        const processed = yield* step(
          "preprocess",
          Compute.data_processing({ input: dataset.path, operations: ["clean", "normalize", "feature_engineering"] }, { timeout: "5 minutes" }),
          { policy: { retry, timeout: "5 minutes" }, idempotent: true }
        )
        yield* Flow.gate("preprocessed", processed.success, "data processing did not succeed")

        // 4. Start training: each call starts a job, so a call that may have reached the server is not repeated.
        // The step's idempotency key makes a repeated request (a retry, a duplicate in transit, a
        // re-run after a crash) answer the same job instead of starting another.
        const training = yield* step(
          "start training",
          Effect.flatMap(Flow.idempotencyKey, (key) =>
            Compute.train_model({
              algorithm: input.algorithm,
              dataset: processed.output,
              parameters: { epochs: input.epochs, lr: input.learningRate, batch_size: input.batchSize },
              idempotency_key: key
            })),
          { policy: { ...once, retry: { ...retry, retryNonIdempotent: true } }, idempotent: true }
        )
        const jobId = training.job_id
        const resource = `ml_model_training_${jobId}`

        // 5. Integration, notifications, backup and authorization while the job trains.
        const prepared = yield* parallel("while training", {
          integration: Effect.gen(function*() {
            const keys = yield* step(
              "api keys",
              Integration.api_key_mgmt({ action: "create", environments: ["prod", "staging"], purpose: `serve ${input.model}` }),
              {
                policy: once,
                // Revoking is safe to repeat: retried even after a lost answer, and patiently (an
                // undo that gives up leaves live keys behind; the run then fails with CompensationsFailed).
                compensate: (created) =>
                  Integration.api_key_mgmt(
                    { action: "revoke", environments: created.keys.map((k) => k.environment), purpose: `undo: serve ${input.model}` },
                    { policy: { retry: false, timeout: "30 seconds" } }
                  ).pipe(
                    // Any failure but a permanent one is retried, even a lost answer or a JSON-RPC error:
                    // 8 more attempts, 1 s doubling (about 4 minutes in all).
                    Effect.retry({ while: (e) => !permanent.has(e.reason._tag), schedule: Schedule.exponential("1 second"), times: 8 })
                  ),
                description: "keys for the deployment; revoked if the pipeline fails"
              }
            )
            const webhook = yield* step(
              "training webhook",
              Integration.webhook_setup({ endpoint: "/model/training/status", events: ["training.completed", "training.failed"] }),
              { policy: quick, idempotent: true }
            )
            return { keys: keys.keys, webhook }
          }),
          notifications: Effect.gen(function*() {
            yield* step(
              "completion alert",
              Notification.create_alert({ alert: "model_training_completion", channels: ["email", "slack_channel_ml_team"], condition: `job ${jobId} completed` }),
              { policy: quick, idempotent: true }
            )
            return yield* step(
              "dashboard",
              Notification.dashboard_update({ dashboard: "ML Operations Dashboard", metric: "training_progress", value: 0, update_frequency_seconds: 30 }),
              { policy: quick, idempotent: true }
            )
          }),
          backup: step(
            "backup dataset",
            Storage.backup_data({ source: processed.output, destination: `s3://ml-models/backups/${day}/` }),
            { policy: once }
          ),
          authorization: Effect.gen(function*() {
            const decision = yield* step(
              "authorize",
              Security.authorize({ resource, permissions: input.permissions, principal: "ml-pipeline" }),
              { policy: quick, idempotent: true }
            )
            if (!decision.authorized) return yield* new AuthorizationDenied({ resource, denied: decision.denied })
            return decision
          }),
          training: awaitTraining(jobId, input.pollIntervalSeconds, input.maxTrainingMinutes * 60)
        }, { description: "set up serving, alerts and backups while the job trains; any failure stops the pipeline" })
        const { job } = prepared.training
        const accuracy = job.accuracy ?? 0

        // 6. The quality gate.
        yield* Flow.gate("quality gate", accuracy >= input.minAccuracy, `model accuracy ${accuracy} is below the minimum ${input.minAccuracy}`)

        // 7. Export, store, encrypt, deploy.
        const exported = yield* step("export model", Compute.model_export({ job_id: jobId, format: "onnx" }), { policy: quick, idempotent: true })
        yield* Flow.gate("model exported", exported.success, `export of ${jobId} did not succeed`)
        const stored = yield* step(
          "store model",
          Storage.upload_file({
            path: `/models/${input.model}/model.onnx`,
            source: exported.path,
            size_mb: exported.size_mb,
            metadata: { accuracy: exported.accuracy, training_date: day, job_id: jobId }
          }),
          { policy: once }
        )
        yield* Flow.gate("model stored", stored.success, `upload of ${stored.path} did not succeed`)
        const encrypted = yield* step("encrypt model", Security.encrypt({ target: stored.path, algorithm: "AES-256" }), { policy: quick, idempotent: true })
        yield* Flow.gate("model encrypted", encrypted.success, `encryption of ${stored.path} did not succeed`)
        const deployed = yield* step(
          "deploy",
          Effect.flatMap(Flow.idempotencyKey, (key) => Integration.rest_call({
            method: "POST",
            url: input.servingUrl,
            // One deployment per run, however often the request is repeated.
            headers: { "Idempotency-Key": key },
            body: {
              model: input.model,
              artifact: encrypted.encrypted_path,
              key_id: encrypted.key_id,
              version: stored.version,
              accuracy: exported.accuracy,
              api_keys: prepared.integration.keys.map((k) => k.key_id)
            }
          })),
          { policy: { ...once, retry: { ...retry, retryNonIdempotent: true } }, idempotent: true, description: "POST the encrypted model to the serving API (with an Idempotency-Key)" }
        )
        yield* Flow.gate("deployment accepted", deployed.status_code >= 200 && deployed.status_code < 300, `the serving API answered ${deployed.status_code}`)
        const deploymentId = idOf(deployed.body)

        // 8. Tell the team; a failed notification is reported, not fatal.
        const summary = `Model ${input.model} (job ${jobId}) deployed: accuracy ${(exported.accuracy * 100).toFixed(1)}%, ready for A/B testing.`
        const notes = yield* parallel("notify", {
          slack: step("slack", Notification.send_slack({ channel: input.slackChannel, message: summary }), { policy: once }),
          email: step(
            "email",
            Notification.send_email({
              recipients: input.emailRecipients,
              subject: `Model training complete - ${input.model} ready for production`,
              body: summary,
              attachments: ["training_report.pdf", "model_metrics.json"]
            }),
            { policy: once }
          ),
          audit: step(
            "audit deployment",
            Security.audit_log({
              action: "model_deployed",
              resource: `/models/${input.model}`,
              actor: "ml-pipeline",
              details: { job_id: jobId, deployment_id: deploymentId, accuracy: exported.accuracy, polls: prepared.training.polls }
            }),
            { policy: once }
          )
        }, { mode: "settle", description: "best effort: the model is already deployed" })

        return {
          model: input.model,
          jobId,
          accuracy: exported.accuracy,
          polls: prepared.training.polls,
          trainingSeconds: prepared.training.waitedSeconds,
          modelPath: stored.path,
          encryptedPath: encrypted.encrypted_path,
          modelVersion: stored.version,
          deploymentId,
          backupId: prepared.backup.backup_id,
          apiKeys: prepared.integration.keys.map((k) => k.key_id),
          notified: [
            ...(Result.isSuccess(notes.slack) ? ["slack"] : []),
            ...(Result.isSuccess(notes.email) ? ["email"] : []),
            ...(Result.isSuccess(notes.audit) ? ["audit"] : [])
          ]
        }
      })

      // 9. Exactly one message to the team when the pipeline stopped; the keys are revoked after it (compensation).
      return yield* Flow.onFailure(
        pipeline,
        (failure) =>
          step(
            "failure message",
            Notification.send_slack({
              channel: input.slackChannel,
              message: `ML pipeline for ${input.model} stopped (${failure.errorTag ?? "error"}): ${failure.message}`
            }),
            { policy: once }
          ),
        { description: "a step failed or a gate stopped the pipeline" }
      )
    })
})

export default mlPipeline

/** The built-in sandbox: the six ML fakes (data, compute, storage, integration, security, notification). */
export const sandbox = Effect.map(sandboxServers(), (all) =>
  Object.fromEntries(["data", "compute", "storage", "integration", "security", "notification"].map((key) => [key, all[key]!])))

main(import.meta, mlPipeline, { sandbox })
