/**
 * `nearMiss`: the known word a mistyped one most likely meant (fields of `.mcp.json`, of a flow's
 * input, tool and fault names), and nothing when no known word is close enough to be sure.
 */
import { assert, describe, it } from "@effect/vitest"
import { didYouMean, nearMiss } from "../dsl/internal/Typos.ts"

describe("nearMiss", () => {
  it("finds a swap, a missing, extra or wrong letter, another case, an abbreviation", () => {
    const fields = ["command", "args", "env", "cwd", "url", "headers", "timeout", "connectTimeout"]
    assert.strictEqual(nearMiss("evn", fields), "env")
    assert.strictEqual(nearMiss("timout", fields), "timeout")
    assert.strictEqual(nearMiss("timeoutt", fields), "timeout")
    assert.strictEqual(nearMiss("uri", fields), "url")
    assert.strictEqual(nearMiss("Headers", fields), "headers")
    assert.strictEqual(nearMiss("cmd", fields), "command")
    assert.strictEqual(nearMiss("tmo", fields), "timeout")
    assert.strictEqual(nearMiss("conectTimeot", fields), "connectTimeout")
  })

  it("says nothing for a known word, a word far from all, or one too short to tell", () => {
    const fields = ["command", "args", "env", "timeout"]
    assert.isUndefined(nearMiss("env", fields))
    assert.isUndefined(nearMiss("disabled", fields))
    assert.isUndefined(nearMiss("alwaysAllow", fields))
    assert.isUndefined(nearMiss("x", ["a", "b"]))
    assert.isUndefined(nearMiss("ab", ["cd"]))
    assert.isUndefined(nearMiss("abc", fields))
    assert.isUndefined(nearMiss("enc2", ["env"]), "two edits from a three-letter word: not sure enough")
  })

  it("didYouMean: the word meant, else what there is, else nothing", () => {
    assert.strictEqual(didYouMean("fss", ["fs", "git"], "configured"), `; did you mean "fs"?`)
    assert.strictEqual(didYouMean("zzz", ["fs", "git"], "configured"), " (configured: fs, git)")
    assert.strictEqual(didYouMean("zzz", [], "configured"), "")
  })
})
