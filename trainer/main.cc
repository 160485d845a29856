// orchard-train: fine-tunes pretrained networks with libtorch (DESIGN.md).
//
//   orchard-train finetune [--flag=value ...]   one training run
//   orchard-train infer [--flag=value ...]      a batch-inference worker (docs/inference.md)
//   orchard-train flags                         the finetune flags as JSON
//   orchard-train help                          this text
//
// `finetune --help` lists every flag with its default and range.
#include <malloc.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "flags/flag_set.h"
#include "trainer/train/finetune.h"
#include "trainer/train/infer.h"
#include "trainer/train/options.h"

namespace {

constexpr char kUsage[] =
    "usage: orchard-train <command> [--flag=value ...]\n"
    "\n"
    "commands:\n"
    "  finetune   fine-tune a pretrained backbone on an image dataset (see finetune --help)\n"
    "  infer      run an exported bundle over lists of images (see infer --help)\n"
    "  flags      print the finetune flags as JSON (names, types, defaults, ranges)\n"
    "  help       show this text\n";

void OnStopSignal(int) { orchard::trainer::RequestStop(); }

void InstallStopHandlers() {
  struct sigaction action {};
  action.sa_handler = OnStopSignal;
  sigemptyset(&action.sa_mask);
  sigaction(SIGTERM, &action, nullptr);
  sigaction(SIGINT, &action, nullptr);
}

int Finetune(int argc, char** argv) {
  orchard::flags::FlagSet flags("orchard-train finetune",
                                "Fine-tunes a pretrained network on labelled images and reports "
                                "metrics through the Orchard trainer protocol.");
  orchard::trainer::DeclareFinetuneFlags(&flags);
  // argv[0] is "finetune" here, which Parse skips as the program name.
  orchard::Status parsed = flags.Parse(argc, argv);
  if (!parsed.ok()) {
    std::fprintf(stderr, "orchard-train finetune: %s\n", parsed.message().c_str());
    return orchard::trainer::kExitUsage;
  }
  if (flags.help_requested()) {
    std::fputs(flags.Help().c_str(), stdout);
    return 0;
  }
  if (!flags.positional().empty()) {
    std::fprintf(stderr, "orchard-train finetune: unexpected argument \"%s\" (flags are --name=value)\n",
                 flags.positional().front().c_str());
    return orchard::trainer::kExitUsage;
  }
  orchard::Result<orchard::trainer::FinetuneOptions> options =
      orchard::trainer::FinetuneOptionsFromFlags(flags);
  if (!options.ok()) {
    std::fprintf(stderr, "orchard-train finetune: %s\n", options.status().message().c_str());
    return orchard::trainer::kExitUsage;
  }
  // Activations are allocated and freed at every step; glibc's defaults hand
  // large blocks back to the kernel each time, and the page faults of taking
  // them again cost a third of a short run's first epoch (measured). Keep
  // them in the process instead.
  mallopt(M_MMAP_THRESHOLD, 32 << 20);
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
  // SIGTERM (Orchard pruning or cancelling) and Ctrl-C: checkpoint and stop.
  InstallStopHandlers();
  return orchard::trainer::RunFinetune(options.value(), flags.ToJson());
}

int Infer(int argc, char** argv) {
  orchard::flags::FlagSet flags("orchard-train infer",
                                "A batch-inference worker: runs a bundle's model over lists of "
                                "images and writes one record per input (docs/inference.md).");
  orchard::trainer::DeclareInferFlags(&flags);
  orchard::Status parsed = flags.Parse(argc, argv);
  if (!parsed.ok()) {
    std::fprintf(stderr, "orchard-train infer: %s\n", parsed.message().c_str());
    return orchard::trainer::kExitUsage;
  }
  if (flags.help_requested()) {
    std::fputs(flags.Help().c_str(), stdout);
    return 0;
  }
  if (!flags.positional().empty()) {
    std::fprintf(stderr, "orchard-train infer: unexpected argument \"%s\" (flags are --name=value)\n",
                 flags.positional().front().c_str());
    return orchard::trainer::kExitUsage;
  }
  orchard::Result<orchard::trainer::InferOptions> options =
      orchard::trainer::InferOptionsFromFlags(flags);
  if (!options.ok()) {
    std::fprintf(stderr, "orchard-train infer: %s\n", options.status().message().c_str());
    return orchard::trainer::kExitUsage;
  }
  InstallStopHandlers();
  // A worker outlives no driver: SIGTERM when the parent dies, and no start
  // at all when it is gone already (then this process belongs to init).
  if (const int64_t parent = flags.GetInt("parent_pid"); parent > 0) {
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() != static_cast<pid_t>(parent)) {
      std::fprintf(stderr, "orchard-train infer: parent process %lld is gone; stopping\n",
                   static_cast<long long>(parent));
      return orchard::trainer::kExitStopped;
    }
  }
  return orchard::trainer::RunInfer(options.value());
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || std::strcmp(argv[1], "help") == 0 || std::strcmp(argv[1], "--help") == 0 ||
      std::strcmp(argv[1], "-h") == 0) {
    std::fputs(kUsage, argc < 2 ? stderr : stdout);
    return argc < 2 ? orchard::trainer::kExitUsage : 0;
  }
  const std::string command = argv[1];
  if (command == "finetune") return Finetune(argc - 1, argv + 1);
  if (command == "infer") return Infer(argc - 1, argv + 1);
  if (command == "flags") {
    orchard::flags::FlagSet flags("orchard-train finetune", "");
    orchard::trainer::DeclareFinetuneFlags(&flags);
    std::puts(flags.Describe().dump(2).c_str());
    return 0;
  }
  std::fprintf(stderr, "orchard-train: unknown command \"%s\"\n\n%s", command.c_str(), kUsage);
  return orchard::trainer::kExitUsage;
}
