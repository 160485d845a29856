// The flags of `orchard-train finetune` and the options they make.
// Flag names follow the tuning spec (DESIGN.md): lr, batch, optimizer,
// unfreeze, labels_per_class, ...; `--resume-from` is the protocol's.
#pragma once
#include <cstdint>
#include <string>
#include <vector>
#include "flags/flag_set.h"
#include "flags/status.h"

namespace orchard::trainer {

struct FinetuneOptions {
  // Data.
  std::string data = "fashion-mnist";
  int64_t labels_per_class = 0;  // the label budget; 0 = every remaining image
  int64_t val_per_class = 100;
  double val_fraction = 0.1;     // used when val_per_class is 0
  int64_t split_seed = 0;        // the data split; trials share it by default
  bool eval_test = false;        // evaluate the best model on the dataset's test part
  int64_t test_limit = 0;        // 0 = the whole test part
  // Preprocessing and augmentation.
  int64_t image_size = 96;
  std::vector<double> mean;      // empty = the backbone's own normalisation
  std::vector<double> std;
  int64_t augment_crop = 0;      // pad by this many pixels, then crop back at random
  bool augment_flip = false;     // random horizontal flips
  // Network.
  std::string backbone = "mobilenet_v2";  // or torchscript:PATH
  bool pretrained = true;
  std::string weights;           // nsfwjs / TF.js folder; empty = search
  std::string cut = "block_10";  // last MobileNetV2 unit kept
  int64_t unfreeze = 0;          // 0 = linear probe, N = last N units, -1 = all
  std::string bn = "frozen";     // frozen | train: BatchNorm of unfrozen units
  double dropout = 0.0;
  // Optimisation.
  std::string optimizer = "adam";
  double lr = 1e-2;              // the head's
  double backbone_lr = 1e-3;     // unfrozen backbone units'
  double momentum = 0.9;
  double weight_decay = 0.0;
  std::string schedule = "cosine";  // constant | cosine | step
  int64_t step_size = 2;            // epochs between step decays
  double gamma = 0.1;
  double label_smoothing = 0.0;
  int64_t batch = 64;
  int64_t epochs = 5;
  int64_t patience = 0;                 // early stopping; 0 = off
  std::string early_stop_metric = "val_acc";  // val_acc | val_loss
  // Execution.
  std::string device = "cpu";    // cpu | cuda | auto
  int64_t threads = 0;           // 0 = torch's default
  int64_t seed = 0;              // default $ORCHARD_SEED
  bool cache_features = true;
  std::string cache_dir;         // empty = DefaultCacheDir()
  std::string out;               // empty = $ORCHARD_RUN_DIR, else ./orchard-train-out
  std::string resume_from;
  std::string export_model = "best";  // best | final | none
  // After the export: OUT/predictions/val.jsonl, the validation images'
  // top labels in batch inference's JSONL form (docs/inference.md).
  bool write_predictions = false;
};

// Declares every finetune flag on `flags` with its default, range and help.
void DeclareFinetuneFlags(flags::FlagSet* flags);

// Reads parsed flags into options, with the cross-flag checks a single flag
// cannot make (mean/std lists, step_size with schedule, ...). Errors name
// the flag.
Result<FinetuneOptions> FinetuneOptionsFromFlags(const flags::FlagSet& flags);

// "0.485,0.456,0.406" -> {0.485, 0.456, 0.406}; one number is repeated for
// the three channels. Empty text gives an empty list.
Result<std::vector<double>> ParseChannelList(const std::string& flag, const std::string& text);

}  // namespace orchard::trainer
