// A tiny trainer for the dashboard's end-to-end tests, speaking the trainer
// protocol (docs/protocol.md): flags as --name=value, metrics as
// `@orchard {...}` lines, artifacts and an exportable model bundle under
// $ORCHARD_RUN_DIR. Its score depends on the flags only, so tests know the
// best trial in advance.
import {createHash} from "node:crypto";
import {mkdirSync, writeFileSync} from "node:fs";
import {join} from "node:path";
import {config} from "./config.mjs";

const flags = Object.fromEntries(process.argv.slice(2).filter((a) => a.startsWith("--"))
  .map((a) => a.slice(2).split("=", 2)).map(([k, v]) => [k, v === undefined ? "true" : v]));
const lr = Number(flags.lr ?? 0.1), epochs = Number(flags.epochs ?? 4);
const batch = Number(flags.batch ?? 32), sleep = Number(flags.sleep ?? 0);
const points = Number(flags.points ?? 0);
const runDir = process.env.ORCHARD_RUN_DIR || ".";
const pause = (ms) => new Promise((r) => setTimeout(r, ms));

// Best at lr = 0.03; batch 32 a little better than 16.
const target = 0.95 - 0.12 * Math.abs(Math.log10(lr) - Math.log10(0.03)) - (batch === 32 ? 0 : 0.02);
console.log(`training ${config.model} with lr=${lr} batch=${batch} for ${epochs} epochs`);
for (let e = 1; e <= epochs; ++e) {
  const val = target * (1 - Math.exp(-e));
  const loss = (1 - val) * 2 + 0.01 * e;
  console.log(`@orchard {"step": ${e}, "epoch": ${e}, "val_acc": ${val.toFixed(5)}, "train_loss": ${loss.toFixed(5)}}`);
  console.log(`epoch ${e}: val_acc=${val.toFixed(4)}`);
  if (e === 1) console.error("warning: a line on stderr");
  if (sleep) await pause(sleep);
}
// A long series, to be down-sampled on the server.
for (let s = 1; s <= points; ++s) {
  console.log(`@orchard {"step": ${s}, "noise": ${(Math.sin(s / 50) + (s % 97 === 0 ? 3 : 0)).toFixed(4)}}`);
}
if (flags.fail === "true") {
  console.error("failing on purpose");
  process.exit(3);
}
writeFileSync(join(runDir, "history.csv"), "epoch,val_acc\n1,0.5\n");
mkdirSync(join(runDir, "plots"), {recursive: true});
writeFileSync(join(runDir, "plots", "summary.txt"), `lr=${lr}\n`);
// An exportable bundle (docs/inference.md): files listed with their hashes.
const model = join(runDir, "model");
mkdirSync(model, {recursive: true});
const weights = `weights for lr=${lr}`;
writeFileSync(join(model, "model.pt"), weights);
writeFileSync(join(model, "bundle.json"), JSON.stringify({
  format: "orchard-bundle", version: 1, classes: ["cat", "dog"],
  input: {height: 8, width: 8, channels: 3}, output: {kind: "logits", classes: 2, features: 4},
  source: {trainer: "e2e trainer", weights: "last", epoch: epochs, run_id: null},
  files: {"model.pt": {sha256: createHash("sha256").update(weights).digest("hex"), bytes: weights.length}},
}, null, 2));
