// InferDriver: `orchard infer` (docs/inference.md, "The driver").
//
// Plans the job (verified bundle, enumerated inputs, shards, a manifest in
// the work folder), starts `orchard-train infer` workers — one per GPU, or N
// CPU workers — each with its own round-robin share of the unfinished shards
// in a --shards file, follows their progress on stdout, retries the shards
// of a worker that fails, and when every shard is done merges them in order
// into the output file. Ctrl-C / SIGTERM stops the workers and keeps the
// work folder; running the same command again does only what is missing.
//
// Failures: InvalidArgument (bad options, a tampered bundle, a work folder of
// another job), NotFound (no bundle, no inputs, no worker executable),
// Cancelled (stopped), Internal (shards that failed after their retries:
// exit code 1), IoError. Not thread-safe; one driver per work folder (it
// holds a lock on the folder while it runs).
#pragma once

#include <cstdint>
#include <ostream>
#include <string>

#include <nlohmann/json.hpp>

#include "flags/status.h"
#include "orchestrator/exec/stop_signal.h"

namespace orchard::infer {

struct InferOptions {
  std::string bundle;             // REQUIRES: non-empty
  std::string input;              // a folder or a list file. REQUIRES: non-empty
  std::string output;             // the merged file. REQUIRES: non-empty
  std::string format;             // jsonl | csv; "": from the output's extension, else jsonl
  int top_k = 5;                  // capped at the bundle's classes
  bool features = false;
  int batch = 32;
  int threads = 0;                // per worker; 0: cores / workers
  int shards = 0;                 // 0: one per worker (or as the work folder was planned)
  int workers = 1;                // CPU workers
  std::string gpus;               // "0,1": these GPUs; "": detect with nvidia-smi
  bool cpu = false;               // never use GPUs
  std::string work;               // "": OUTPUT.parts
  bool restart = false;           // discard a work folder of another job
  int retries = 1;                // extra attempts per shard
  std::string worker;             // "": find orchard-train
  bool keep_work = false;         // keep the work folder after a verified merge
  std::string cwd;                // relative paths resolve against it
  std::string self_exe;           // where orchard is (to find orchard-train); "": /proc/self/exe
  double plain_every_s = 5;       // plain progress lines (not a terminal)
  double poll_s = 0.2;            // how often workers are checked
  // --executor (docs/executors.md): null or "local" = this machine. Another
  // (Slurm, SSH nodes) places the workers and assigns their GPUs (one each,
  // none with --cpu); with Slurm each pending shard is one task of one job
  // array; SSH nodes get the bundle and inputs shipped and run their own
  // orchard-train (--worker: a path on the node).
  nlohmann::json executor;
  bool workers_given = false;     // --workers named: with Slurm, the tasks at once
};

struct InferSummary {
  std::string output;             // absolute
  std::string work;               // absolute; removed unless kept
  bool work_kept = false;
  int64_t images = 0;             // records merged (= inputs)
  int64_t errors = 0;             // records with an error
  int64_t processed = 0;          // images done by this session's workers
  int shards = 0, shards_resumed = 0;  // resumed: already done when it started
  int workers = 0;
  std::string device;             // "cpu" or "cuda (GPUs 0,1)"
  double seconds = 0;
  int retried = 0;                // workers started again for failed shards
};

// The worker executable: `flag` when given, else orchard-train beside
// self_exe, else ../trainer/orchard-train from self_exe's folder (the build
// tree), else orchard-train on PATH.
Result<std::string> FindWorker(const std::string& flag, const std::string& self_exe);

class InferDriver {
 public:
  // log: progress and notes (stderr); stop: Ctrl-C / SIGTERM (may be null).
  InferDriver(InferOptions options, std::ostream& log, bool tty, exec::StopRequests* stop)
      : opt_(std::move(options)), log_(log), tty_(tty), stop_(stop) {}
  Result<InferSummary> Run();

 private:
  InferOptions opt_;
  std::ostream& log_;
  bool tty_;
  exec::StopRequests* stop_;
};

}  // namespace orchard::infer
