import fs from "node:fs"
const p = JSON.parse(fs.readFileSync(process.argv[2]))
const byId = new Map(p.nodes.map(n => [n.id, n])); const parent = new Map()
for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id)
const pats = process.argv.slice(3).map(s => { const [f, u] = s.split("@"); return { s, f, u } })
const acc = new Map(pats.map(x => [x.s, 0])); let total = 0
p.samples.forEach((id, i) => { const d = p.timeDeltas[i] ?? 0; total += d; const seen = new Set()
  for (let n = id; n !== undefined; n = parent.get(n)) { const cf = byId.get(n).callFrame
    for (const x of pats) if (!seen.has(x.s) && cf.functionName === x.f && (!x.u || cf.url.includes(x.u))) { seen.add(x.s); acc.set(x.s, acc.get(x.s) + d) } } })
for (const [k, v] of acc) console.log((100 * v / total).toFixed(1).padStart(5) + "% " + k)
