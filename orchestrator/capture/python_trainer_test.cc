// Runs examples/python_trainer/train.py and reads its stdout the way the
// orchestrator does: LineSplitter, then ParseLine on each line.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <string>

#include "orchestrator/capture/command.h"
#include "orchestrator/capture/line_splitter.h"
#include "orchestrator/capture/metric_line.h"

namespace orchard::capture {
namespace {
namespace fs = std::filesystem;

fs::path ExampleScript() {
  // This file lives at <root>/orchestrator/capture/.
  return fs::path(__FILE__).parent_path().parent_path().parent_path() / "examples" /
         "python_trainer" / "train.py";
}

TEST(PythonTrainerTest, EveryRecordParses) {
  fs::path script = fs::absolute(ExampleScript());  // the trainer runs in another folder
  if (!fs::exists(script)) GTEST_SKIP() << "no " << script;
  CommandSpec probe;
  probe.argv = {"python3", "--version"};
  Result<CommandResult> have = RunCommand(probe);
  if (!have.ok() || have->exit_code != 0) GTEST_SKIP() << "python3 is not installed";

  CommandSpec spec;
  spec.argv = {"python3", script.string(), "--epochs=5", "--lr=0.1"};
  std::string tmpl = ::testing::TempDir() + "orchard_pytrain_XXXXXX";
  spec.cwd = ::mkdtemp(tmpl.data());  // model.json lands here
  spec.timeout_s = 60;
  Result<CommandResult> r = RunCommand(spec);
  std::error_code ec;
  EXPECT_TRUE(fs::exists(fs::path(spec.cwd) / "model.json"));
  fs::remove_all(spec.cwd, ec);
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_EQ(r->exit_code, 0) << r->out;

  LineSplitter splitter;
  int records = 0, logs = 0;
  int64_t last_step = -1;
  double last_val_loss = 1e9;
  auto on_line = [&](const LineSplitter::Line& line) {
    ParseResult p = ParseLine(line.text);
    ASSERT_NE(p.kind, LineKind::kMalformed) << p.error;
    if (p.kind == LineKind::kLog) {
      ++logs;
      return;
    }
    ++records;
    ASSERT_TRUE(p.record.step.has_value());
    EXPECT_GT(*p.record.step, last_step);
    last_step = *p.record.step;
    EXPECT_EQ(p.record.epoch, records);
    ASSERT_EQ(p.record.values.size(), 4u);
    EXPECT_EQ(p.record.values[1].first, "val_loss");
    last_val_loss = p.record.values[1].second;
  };
  splitter.Feed(r->out, on_line);
  splitter.Flush(on_line);
  EXPECT_EQ(records, 5);
  EXPECT_EQ(logs, 0);
  EXPECT_LT(last_val_loss, 0.1);  // it actually learns
}

}  // namespace
}  // namespace orchard::capture
