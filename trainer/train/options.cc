#include "trainer/train/options.h"

#include <cmath>
#include <cstdlib>

#include "flags/flag_value.h"

namespace orchard::trainer {

void DeclareFinetuneFlags(flags::FlagSet* f) {
  const FinetuneOptions d;
  f->String("data", d.data,
            "fashion-mnist, fashion-mnist:DIR (gzipped IDX files) or an image folder "
            "(one subfolder per class)");
  f->Int("labels_per_class", d.labels_per_class,
         "training images per class (the label budget); 0 = all").Range(0, 1e9);
  f->Int("val_per_class", d.val_per_class,
         "validation images per class; 0 = val_fraction of each class").Range(0, 1e9);
  f->Float("val_fraction", d.val_fraction, "validation share of each class when val_per_class=0")
      .Range(0, 0.9);
  f->Int("split_seed", d.split_seed, "seed of the train/validation split (kept apart from --seed "
         "so every trial is scored on the same images)").Range(0, 9e15);
  f->Bool("eval_test", d.eval_test, "after training, evaluate the best (--export=final: the last) weights on the dataset's test part");
  f->Int("test_limit", d.test_limit, "test images to evaluate; 0 = all").Range(0, 1e9);
  f->Int("image_size", d.image_size, "images are resized to this square size").Range(32, 1024);
  f->String("mean", "", "per-channel mean after scaling to [0,1], e.g. 0.485,0.456,0.406; "
            "empty = the backbone's own");
  f->String("std", "", "per-channel standard deviation, e.g. 0.229,0.224,0.225");
  f->Int("augment_crop", d.augment_crop, "pad by N pixels and crop back at a random offset")
      .Range(0, 256);
  f->Bool("augment_flip", d.augment_flip, "random horizontal flips");
  f->String("backbone", d.backbone,
            "mobilenet_v2 (Keras MobileNetV2 with ImageNet weights from nsfwjs) or "
            "torchscript:PATH (any TorchScript classifier; its last Linear layer is replaced)");
  f->Bool("pretrained", d.pretrained, "load pretrained weights; false trains the same "
          "architecture from random initialisation");
  f->String("weights", d.weights, "folder of the nsfwjs model or a TF.js layers model "
            "(model.json); empty = node_modules/nsfwjs");
  f->Choice("cut", d.cut, {"block_3", "block_5", "block_6", "block_9", "block_10", "block_12",
                           "block_13", "block_16", "Conv_1"},
            "last MobileNetV2 unit kept (block_10 ends the ImageNet-trained part)");
  f->Int("unfreeze", d.unfreeze, "backbone units trained: 0 = linear probe (frozen backbone), "
         "N = the last N, -1 = all (full fine-tune)").Range(-1, 1000);
  f->Choice("bn", d.bn, {"frozen", "train"},
            "BatchNorm of unfrozen units: frozen (running statistics) or train (batch statistics)");
  f->Float("dropout", d.dropout, "dropout before the classifier head").Range(0, 0.95);
  f->Choice("optimizer", d.optimizer, {"sgd", "adam", "adamw"}, "optimiser");
  f->Float("lr", d.lr, "learning rate of the head").Range(0, 10);
  f->Float("backbone_lr", d.backbone_lr, "learning rate of the unfrozen backbone units")
      .Range(0, 10);
  f->Float("momentum", d.momentum, "SGD momentum").Range(0, 0.999);
  f->Float("weight_decay", d.weight_decay,
           "weight decay (L2 for sgd/adam, decoupled for adamw)").Range(0, 1);
  f->Choice("schedule", d.schedule, {"constant", "cosine", "step"},
            "learning-rate schedule: cosine decays per step to 0 over all epochs; step "
            "multiplies by gamma every step_size epochs");
  f->Int("step_size", d.step_size, "epochs between decays of the step schedule").Range(1, 1e6);
  f->Float("gamma", d.gamma, "decay factor of the step schedule").Range(0, 1);
  f->Float("label_smoothing", d.label_smoothing, "label smoothing of the loss").Range(0, 0.99);
  f->Int("batch", d.batch, "batch size").Range(1, 65536);
  f->Int("epochs", d.epochs, "epochs").Range(1, 100000);
  f->Int("patience", d.patience, "stop after N epochs without improvement of "
         "early_stop_metric; 0 = never").Range(0, 100000);
  f->Choice("early_stop_metric", d.early_stop_metric, {"val_acc", "val_loss"},
            "metric watched by early stopping and used to pick the best epoch");
  f->Choice("device", d.device, {"cpu", "cuda", "auto"},
            "where to train; auto = cuda when available");
  f->Int("threads", d.threads, "CPU threads; 0 = libtorch's default").Range(0, 1024);
  f->Int("seed", d.seed, "seed of initialisation, shuffling, dropout and augmentation "
         "(default $ORCHARD_SEED)").Range(0, 9e15);
  f->Bool("cache_features", d.cache_features, "with a frozen backbone and no augmentation, "
          "compute backbone features once and reuse them across runs");
  f->String("cache_dir", d.cache_dir, "feature and weight cache (default $ORCHARD_CACHE_DIR or "
            "~/.cache/orchard)");
  f->String("out", d.out, "output folder (default $ORCHARD_RUN_DIR, else ./orchard-train-out)");
  f->String("resume-from", d.resume_from, "continue from a checkpoint this trainer wrote");
  f->Choice("export", d.export_model, {"best", "final", "none"},
            "export a bundle (TorchScript + bundle.json) of the best or final model");
  f->Bool("write_predictions", d.write_predictions,
          "write predictions/val.jsonl: the exported weights' top labels for each validation "
          "image, in the JSONL form of orchard infer");
}

Result<std::vector<double>> ParseChannelList(const std::string& flag, const std::string& text) {
  std::vector<double> values;
  if (text.empty()) return values;
  size_t start = 0;
  while (start <= text.size()) {
    size_t comma = text.find(',', start);
    std::string item = text.substr(start, comma == std::string::npos ? comma : comma - start);
    Result<flags::FlagValue> v = flags::FlagValue::Parse(flags::ValueType::kFloat, item);
    if (!v.ok()) {
      return Status::InvalidArgument("--" + flag + ": \"" + item + "\" is not a number (expected "
                                     "one number or three separated by commas)");
    }
    values.push_back(v.value().AsFloat());
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  if (values.size() == 1) values.assign(3, values[0]);
  if (values.size() != 3) {
    return Status::InvalidArgument("--" + flag + ": expected 1 or 3 values, got " +
                                   std::to_string(values.size()));
  }
  return values;
}

Result<FinetuneOptions> FinetuneOptionsFromFlags(const flags::FlagSet& f) {
  FinetuneOptions o;
  o.data = f.GetString("data");
  o.labels_per_class = f.GetInt("labels_per_class");
  o.val_per_class = f.GetInt("val_per_class");
  o.val_fraction = f.GetFloat("val_fraction");
  o.split_seed = f.GetInt("split_seed");
  o.eval_test = f.GetBool("eval_test");
  o.test_limit = f.GetInt("test_limit");
  o.image_size = f.GetInt("image_size");
  Result<std::vector<double>> mean = ParseChannelList("mean", f.GetString("mean"));
  if (!mean.ok()) return mean.status();
  Result<std::vector<double>> std_dev = ParseChannelList("std", f.GetString("std"));
  if (!std_dev.ok()) return std_dev.status();
  o.mean = std::move(mean).value();
  o.std = std::move(std_dev).value();
  if (o.mean.empty() != o.std.empty()) {
    return Status::InvalidArgument("--mean and --std go together: give both or neither");
  }
  for (double s : o.std) {
    if (s <= 0) return Status::InvalidArgument("--std: every value must be positive");
  }
  o.augment_crop = f.GetInt("augment_crop");
  o.augment_flip = f.GetBool("augment_flip");
  o.backbone = f.GetString("backbone");
  if (o.backbone != "mobilenet_v2" && o.backbone.rfind("torchscript:", 0) != 0) {
    return Status::InvalidArgument("--backbone: \"" + o.backbone +
                                   "\" is neither mobilenet_v2 nor torchscript:PATH");
  }
  if (o.backbone == "torchscript:") {
    return Status::InvalidArgument("--backbone: torchscript: needs a path, e.g. "
                                   "torchscript:resnet18.pt");
  }
  o.pretrained = f.GetBool("pretrained");
  o.weights = f.GetString("weights");
  o.cut = f.GetString("cut");
  o.unfreeze = f.GetInt("unfreeze");
  o.bn = f.GetString("bn");
  o.dropout = f.GetFloat("dropout");
  o.optimizer = f.GetString("optimizer");
  o.lr = f.GetFloat("lr");
  o.backbone_lr = f.GetFloat("backbone_lr");
  o.momentum = f.GetFloat("momentum");
  o.weight_decay = f.GetFloat("weight_decay");
  o.schedule = f.GetString("schedule");
  o.step_size = f.GetInt("step_size");
  o.gamma = f.GetFloat("gamma");
  o.label_smoothing = f.GetFloat("label_smoothing");
  o.batch = f.GetInt("batch");
  o.epochs = f.GetInt("epochs");
  o.patience = f.GetInt("patience");
  o.early_stop_metric = f.GetString("early_stop_metric");
  o.device = f.GetString("device");
  o.threads = f.GetInt("threads");
  o.seed = f.GetInt("seed");
  if (!f.IsSet("seed")) {
    if (const char* env = std::getenv("ORCHARD_SEED"); env != nullptr && *env != '\0') {
      Result<flags::FlagValue> v = flags::FlagValue::Parse(flags::ValueType::kInt, env);
      if (!v.ok() || v.value().AsInt() < 0) {
        return Status::InvalidArgument(std::string("ORCHARD_SEED=\"") + env +
                                       "\" is not a non-negative integer");
      }
      o.seed = v.value().AsInt();
    }
  }
  o.cache_features = f.GetBool("cache_features");
  o.cache_dir = f.GetString("cache_dir");
  o.out = f.GetString("out");
  o.resume_from = f.GetString("resume-from");
  o.export_model = f.GetString("export");
  o.write_predictions = f.GetBool("write_predictions");
  if (!o.pretrained && !o.weights.empty()) {
    return Status::InvalidArgument("--weights names pretrained weights, but --pretrained=false");
  }
  return o;
}

}  // namespace orchard::trainer
