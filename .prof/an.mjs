import fs from "node:fs"
const p = JSON.parse(fs.readFileSync(process.argv[2]))
const byId = new Map(p.nodes.map(n => [n.id, n]))
const self = new Map()
const dt = p.timeDeltas; let total = 0
const cnt = new Map()
p.samples.forEach((id, i) => { const d = dt[i] ?? 0; cnt.set(id, (cnt.get(id) ?? 0) + d); total += d })
const cat = (n) => { const u = n.callFrame.url; const f = n.callFrame.functionName
  if (!u) return f.startsWith("(") ? f : "native:" + f
  if (u.includes("@modelcontextprotocol")) return "sdk:" + u.split("/dist/esm/")[1]
  if (u.includes("/zod/")) return "zod"
  if (u.includes("/effect/")) return "effect:" + u.split("/dist/")[1]
  if (u.includes("fast-check")) return "fast-check"
  if (u.startsWith("node:")) return "node:" + u.slice(5)
  return "own:" + u.split("/chaosfast/")[1] }
const agg = new Map(), fn = new Map()
for (const [id, t] of cnt) { const n = byId.get(id); const c = cat(n); agg.set(c, (agg.get(c) ?? 0) + t)
  const k = c + " " + n.callFrame.functionName + ":" + n.callFrame.lineNumber; fn.set(k, (fn.get(k) ?? 0) + t) }
const top = (m, k) => [...m].sort((a, b) => b[1] - a[1]).slice(0, k).map(([c, t]) => `${(100 * t / total).toFixed(1).padStart(5)}% ${c}`).join("\n")
const group = new Map(); for (const [c, t] of agg) { const g = c.split(":")[0] + (c.startsWith("own:") ? ":" + c.split("/")[0].slice(4) : ""); group.set(g, (group.get(g) ?? 0) + t) }
console.log(top(group, 20)); console.log("---"); console.log(top(agg, 40)); console.log("---"); console.log(top(fn, 40))
