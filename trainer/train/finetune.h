// `orchard-train finetune`: one fine-tuning run, start to finish.
//
// Loads and splits the data, builds the network, trains for the requested
// epochs reporting per-epoch metrics through the trainer protocol
// (docs/protocol.md), checkpoints every epoch (and on SIGTERM, mid-epoch),
// resumes from a checkpoint, stops early on a plateau, and exports the best
// or final model as a bundle: model.pt (TorchScript) + bundle.json.
//
// Output folder (--out, else $ORCHARD_RUN_DIR, else ./orchard-train-out):
//   checkpoints/last.pt   the latest checkpoint (resume with --resume-from)
//   checkpoints/best.pt   the weights of the best epoch so far
//   model/model.pt        the exported TorchScript model
//   model/bundle.json     what it takes and gives, where it came from
//
// Determinism: shuffling, augmentation and dropout draw from seeds derived
// from (--seed, epoch, batch), never from what ran before, so the same flags
// and seed give the same metric series on the CPU, bit for bit, and a run
// resumed from a checkpoint continues exactly as if it had not stopped.
// (images_per_sec and epoch_seconds measure the machine and vary.)
#pragma once
#include <string>
#include <c10/core/Device.h>
#include <nlohmann/json.hpp>
#include "flags/status.h"
#include "trainer/train/options.h"

namespace orchard::trainer {

// Exit codes of a run.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailed = 1;
inline constexpr int kExitUsage = 2;
inline constexpr int kExitStopped = 143;  // SIGTERM: checkpointed and stopped

// Async-signal-safe: asks a running RunFinetune to checkpoint and stop at the
// next batch boundary.
void RequestStop();
bool StopRequested();

// --device=auto|cpu|cuda as a device: auto is CUDA when libtorch has it and
// a GPU is visible; cuda without one is an error that says so.
Result<c10::Device> ResolveDevice(const std::string& flag);

// Runs one fine-tuning run. `flags_json` (all flag values) is recorded in the
// checkpoint and bundle. Log text goes to stdout, metric records too, errors
// to stderr. Returns the process exit code.
int RunFinetune(const FinetuneOptions& options, const nlohmann::json& flags_json);

}  // namespace orchard::trainer
