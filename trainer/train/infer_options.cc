// The worker's flags (docs/inference.md, "The worker"): declared here, away
// from libtorch, so that changing one rebuilds no torch code.
#include "flags/flag_set.h"
#include "trainer/train/infer.h"

namespace orchard::trainer {

void DeclareInferFlags(flags::FlagSet* f) {
  const InferOptions d;
  f->String("bundle", d.bundle, "the bundle folder (bundle.json, model.pt); its hashes are checked");
  f->String("inputs", d.inputs, "one shard: a file with one input path per line");
  f->String("output", d.output, "the shard's output file (written as OUTPUT.tmp, renamed when done)");
  f->String("shards", d.shards, "instead of --inputs/--output: a file of LIST<TAB>OUT lines, done "
            "in turn; a shard whose OUT exists is skipped");
  f->String("root", d.root, "relative input paths are resolved against this folder (default: "
            "the current directory)");
  f->Choice("format", "jsonl", {"jsonl", "csv"}, "output format");
  f->Int("top_k", d.top_k, "labels per record (at most the number of classes)").Range(1, 1000000);
  f->Bool("features", d.features, "write the embedding (the model's features()) instead of labels");
  f->Int("batch", d.batch, "images per forward pass").Range(1, 65536);
  f->Int("threads", d.threads, "intra-op threads of the model; 0 = one per core").Range(0, 1024);
  f->Int("decoders", d.decoders, "threads that read, decode and resize images while the model "
         "runs").Range(1, 256);
  f->Choice("device", d.device, {"auto", "cpu", "cuda"},
            "auto = CUDA when available (the GPU CUDA_VISIBLE_DEVICES names)");
  f->Int("parent_pid", 0, "exit when this process dies (the orchard that started the worker); "
         "0 = none").Range(0, 1LL << 40);
}

Result<InferOptions> InferOptionsFromFlags(const flags::FlagSet& f) {
  InferOptions o;
  o.bundle = f.GetString("bundle");
  o.inputs = f.GetString("inputs");
  o.output = f.GetString("output");
  o.shards = f.GetString("shards");
  o.root = f.GetString("root");
  o.format = f.GetString("format") == "csv" ? RecordFormat::kCsv : RecordFormat::kJsonl;
  o.top_k = f.GetInt("top_k");
  o.features = f.GetBool("features");
  o.batch = f.GetInt("batch");
  o.threads = f.GetInt("threads");
  o.decoders = f.GetInt("decoders");
  o.device = f.GetString("device");
  if (o.bundle.empty()) return Status::InvalidArgument("--bundle is required");
  if (!o.shards.empty()) {
    if (!o.inputs.empty() || !o.output.empty()) {
      return Status::InvalidArgument("--shards replaces --inputs and --output: give one or the other");
    }
  } else if (o.inputs.empty() || o.output.empty()) {
    return Status::InvalidArgument("give --inputs=LIST and --output=OUT, or --shards=FILE");
  }
  return o;
}

}  // namespace orchard::trainer
