// `orchard-train infer`: the batch-inference worker (docs/inference.md, "The
// worker"). `orchard infer` plans a job and starts workers; a worker loads a
// bundle's model once and turns shards (a list of input paths -> one output
// file) into records, in list order:
//
//   bundle      bundle.json is checked (format, version) and every file it
//               lists must match its sha256; model.pt must be TorchScript,
//               with a features() method for --features.
//   decoding    --decoders threads read, decode and resize the images ahead
//               of the model (a bounded window), with the trainer's own
//               preprocessing (ImageTensor): a bundle gives on a file what
//               its run computed on the same image. An input that cannot be
//               read gives an error record, never a failed shard.
//   output      OUT.tmp, fsynced and renamed to OUT when every line of the
//               list has its record; OUT.lock is flock-ed meanwhile, so two
//               workers never write one shard. A shard whose OUT exists is
//               skipped.
//   progress    `@orchard {"step", "images", "errors", "images_per_sec"}` on
//               stdout at most once a second and after each shard; logs and
//               errors on stderr.
//   stopping    RequestStop() (SIGTERM): the worker stops between batches,
//               removes the unfinished shard's .tmp and returns kExitStopped.
#pragma once
#include <cstdint>
#include <string>
#include "flags/flag_set.h"
#include "flags/status.h"
#include "trainer/train/records.h"

namespace orchard::trainer {

struct InferOptions {
  std::string bundle;    // the bundle folder
  std::string inputs;    // one shard: the list ...
  std::string output;    // ... and its output file
  std::string shards;    // or a file of "LIST<TAB>OUT" lines
  std::string root;      // relative list lines are resolved against it; empty = cwd
  RecordFormat format = RecordFormat::kJsonl;
  int64_t top_k = 5;     // capped at the number of classes
  bool features = false;
  int64_t batch = 32;
  int64_t threads = 0;   // intra-op threads; 0 = one per core
  int64_t decoders = 2;
  std::string device = "auto";  // auto | cpu | cuda
  // torch::jit::freeze the loaded model (folds BatchNorm into convolutions,
  // inlines attributes) and, on the CPU, optimize_for_inference (MKL-DNN
  // prepacked convolutions). Not a flag: a test turns it off to compare.
  bool freeze = true;
};

// Declares the worker's flags (docs/inference.md) on `flags`, --parent_pid
// included (main.cc acts on it, before anything is loaded).
void DeclareInferFlags(flags::FlagSet* flags);

// Reads parsed flags into options; InvalidArgument naming the flag when
// they do not fit together (--shards with --inputs, --inputs without
// --output, ...).
Result<InferOptions> InferOptionsFromFlags(const flags::FlagSet& flags);

// Runs the worker. Returns the exit code: kExitOk, kExitUsage (bad bundle:
// unreadable card, hash mismatch, not TorchScript, no features() method;
// --device=cuda without CUDA), kExitFailed (anything else: a list that
// cannot be read, a locked shard, a failed write) or kExitStopped. Messages
// go to stderr, progress to stdout. Sets libtorch's thread counts for the
// process.
int RunInfer(const InferOptions& options);

}  // namespace orchard::trainer
