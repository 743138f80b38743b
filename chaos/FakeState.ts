/**
 * Fake-server state that outlives its process. A fake keeps its state in `Ref`s (the sandbox's
 * cluster, objects, charges, id counters…); made with {@link ref} while a {@link Store} is the
 * {@link CurrentStore}, a `Ref` is registered with the store under a name, and starts from the
 * value the store saved under that name, if any. Every fake made by `FakeServer.make` on that
 * context saves the store after each call it answers, before the answer leaves: whatever a
 * journal records as done, the saved state has seen.
 *
 * `mcpflow run` on a flow's sandbox keeps the store in the run's state directory
 * (`<stateDir>/sandbox/<runId>.json`); `mcpflow resume` restores it, so a sandbox run killed
 * half-way resumes against the state its completed steps left (the image it built is there).
 *
 * Values are saved as JSON, with `Map`, `Set` and `undefined` kept (see {@link encode}).
 *
 * @example
 * ```ts
 * const store = yield* FakeState.fileStore(".mcpflow/sandbox/run-1.json", { restore: true })
 * const servers = yield* sandbox.pipe(Effect.provideService(FakeState.CurrentStore, store))
 * ```
 * @module
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs"
import { dirname } from "node:path"
import { Context, Effect, Ref, Schema } from "effect"

/**
 * Where fakes' state is saved and restored from.
 *
 * @example
 * ```ts
 * const store: Store = FakeState.memoryStore()
 * ```
 */
export interface Store {
  /** Registers a piece of state under a unique name (a repeated name gets `#2`, `#3`…); returns its saved value, if any. */
  readonly register: (name: string, read: () => unknown) => { readonly saved: boolean; readonly value: unknown }
  /** Saves every registered piece (synchronously). */
  readonly save: () => void
}

/**
 * The store that {@link ref} registers with and fakes save after each call (none by default:
 * state lives only in memory).
 *
 * @example
 * ```ts
 * program.pipe(Effect.provideService(FakeState.CurrentStore, store))
 * ```
 */
export const CurrentStore = Context.Reference<Store | undefined>("mcpflow/chaos/FakeState/CurrentStore", {
  defaultValue: () => undefined
})

/**
 * A `Ref` for a fake's state: registered with the current store under `name`, starting from the
 * value the store saved, else from `initial`. Without a store, `Ref.make(initial)`.
 *
 * @example
 * ```ts
 * const cluster = yield* FakeState.ref("cluster", { images: new Map(), deployments: new Map() })
 * ```
 */
export const ref = <A>(name: string, initial: A): Effect.Effect<Ref.Ref<A>> =>
  CurrentStore.use((store) =>
    Effect.sync(() => {
      if (store === undefined) return Ref.makeUnsafe(initial)
      let self: Ref.Ref<A> | undefined
      const restored = store.register(name, () => (self === undefined ? initial : Ref.getUnsafe(self)))
      self = Ref.makeUnsafe(restored.saved ? restored.value as A : initial)
      return self
    }))

const TAG = "$mcpflow"

/**
 * A value as JSON text, keeping `Map`, `Set` and `undefined` (tagged objects).
 *
 * @example
 * ```ts
 * FakeState.encode({ images: new Map([["app:1", { id: "sha256:1" }]]) })
 * ```
 */
export const encode = (value: unknown): string =>
  JSON.stringify(value, function(this: unknown, key: string, v: unknown) {
    // `this[key]` is the value before any toJSON (a Date stays a string either way).
    const raw = (this as Record<string, unknown>)[key]
    if (raw instanceof Map) return { [TAG]: "Map", entries: [...raw] }
    if (raw instanceof Set) return { [TAG]: "Set", values: [...raw] }
    if (raw === undefined && key !== "") return { [TAG]: "undefined" }
    return v
  })

/**
 * Reads back what {@link encode} wrote.
 *
 * @example
 * ```ts
 * FakeState.decode(FakeState.encode(new Set([1]))) // => Set { 1 }
 * ```
 */
export const decode = (text: string): unknown =>
  JSON.parse(text, (_key, v: unknown) => {
    if (typeof v !== "object" || v === null || !(TAG in v)) return v
    const tagged = v as { readonly [TAG]: string; readonly entries?: Array<[unknown, unknown]>; readonly values?: Array<unknown> }
    switch (tagged[TAG]) {
      case "Map":
        return new Map(tagged.entries ?? [])
      case "Set":
        return new Set(tagged.values ?? [])
      case "undefined":
        return undefined
      default:
        return v
    }
  })

const makeStore = (saved: Readonly<Record<string, unknown>>, write: (text: string) => void): Store => {
  const readers = new Map<string, () => unknown>()
  let last: string | undefined
  return {
    register: (name, read) => {
      let unique = name
      for (let n = 2; readers.has(unique); n++) unique = `${name}#${n}`
      readers.set(unique, read)
      return unique in saved ? { saved: true, value: saved[unique] } : { saved: false, value: undefined }
    },
    save: () => {
      const text = encode(Object.fromEntries([...readers].map(([name, read]) => [name, read()])))
      if (text === last) return
      write(text)
      last = text
    }
  }
}

/**
 * A store in memory (tests): `saved()` gives what was saved last, `restoring(saved)` a store
 * that starts from it.
 *
 * @example
 * ```ts
 * const first = FakeState.memoryStore()
 * // … a run …
 * const again = FakeState.memoryStore(first.saved())
 * ```
 */
export const memoryStore = (from?: string): Store & { readonly saved: () => string | undefined } => {
  let text: string | undefined = from
  const store = makeStore(from === undefined ? {} : decode(from) as Record<string, unknown>, (t) => {
    text = t
  })
  return { ...store, saved: () => text }
}

/**
 * A saved state file that cannot be read back (not JSON, not an object).
 *
 * @example
 * ```ts
 * new StateFileError({ file: ".mcpflow/sandbox/r1.json", detail: "Unexpected token" }).message
 * ```
 */
export class StateFileError extends Schema.TaggedError<StateFileError>()("StateFileError", {
  file: Schema.String,
  detail: Schema.String
}) {
  override get message(): string {
    return `cannot restore the fake servers' state from ${this.file}: ${this.detail}`
  }
}

/**
 * A store in a JSON file, written whole (through a temporary file renamed over it) at each save;
 * with `restore`, it starts from the file's content when there is one (a file that cannot be
 * read back fails with {@link StateFileError}).
 *
 * @example
 * ```ts
 * const store = yield* FakeState.fileStore(".mcpflow/sandbox/3f2a.json", { restore: true })
 * ```
 */
export const fileStore = (file: string, options?: { readonly restore?: boolean | undefined }): Effect.Effect<Store, StateFileError> =>
  Effect.try({
    try: () => {
      const saved = options?.restore === true && existsSync(file) ? decode(readFileSync(file, "utf8")) : {}
      if (typeof saved !== "object" || saved === null || Array.isArray(saved)) throw new Error("not a JSON object")
      return saved as Record<string, unknown>
    },
    catch: (thrown) => new StateFileError({ file, detail: thrown instanceof Error ? thrown.message : String(thrown) })
  }).pipe(Effect.map((saved) =>
    makeStore(saved, (text) => {
      mkdirSync(dirname(file), { recursive: true })
      const tmp = `${file}.tmp`
      writeFileSync(tmp, text)
      renameSync(tmp, file)
    })
  ))
