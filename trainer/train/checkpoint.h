// Checkpoints of `orchard-train finetune`: everything a run needs to go on
// exactly where it stopped (weights, optimiser state, position within the
// epoch, running sums, early-stopping state), and the best epoch's weights.
// Files are written to a temporary name and renamed, so a crash never
// leaves half a checkpoint.
#pragma once
#include <cstdint>
#include <filesystem>
#include <limits>
#include <nlohmann/json.hpp>
#include <torch/torch.h>
#include "flags/status.h"
#include "trainer/train/network.h"

namespace orchard::trainer {

// Where a run stands; with the tensors, what a checkpoint holds.
struct Progress {
  int64_t epoch = 0;   // completed (reported) epochs
  int64_t batch = 0;   // batches trained in the epoch after those
  int64_t step = 0;    // optimiser steps so far
  double loss_sum = 0;  // running sums over the current epoch's batches
  int64_t correct = 0;
  int64_t seen = 0;
  double train_seconds = 0;
  double best = std::numeric_limits<double>::quiet_NaN();
  int64_t best_epoch = 0;
  int64_t bad_epochs = 0;
};

// Writes a resumable checkpoint. `resume_key` holds the settings a resumed
// run must agree with (LoadCheckpoint compares them).
Status SaveCheckpoint(const std::filesystem::path& path, const Network& net,
                      torch::optim::Optimizer& optimizer, const Progress& progress,
                      const nlohmann::json& resume_key);

// Restores `net` and `optimizer` from a checkpoint and returns the progress.
// Tensors are loaded onto `device`, where the network already is, so the
// optimiser's state (Adam's moments) lands beside its parameters.
// A file that is missing, unreadable, not ours or written with other
// settings is refused with a message naming it and the setting.
Result<Progress> LoadCheckpoint(const std::filesystem::path& path, Network& net,
                                torch::optim::Optimizer& optimizer,
                                const nlohmann::json& resume_key, const torch::Device& device);

// The best epoch's weights and the metrics it reported.
struct BestWeights {
  int64_t epoch = 0;
  nlohmann::json metrics;
};
Status SaveBestWeights(const std::filesystem::path& path, const Network& net,
                       const BestWeights& best);
// Loads them into `net`.
Result<BestWeights> LoadBestWeights(const std::filesystem::path& path, Network& net);

}  // namespace orchard::trainer
