#include "orchestrator/capture/command.h"

#include <gtest/gtest.h>

#include <chrono>

namespace orchard::capture {
namespace {

CommandSpec Spec(std::vector<std::string> argv) {
  CommandSpec s;
  s.argv = std::move(argv);
  return s;
}

TEST(CommandTest, CapturesStdoutAndExitCode) {
  Result<CommandResult> r = RunCommand(Spec({"sh", "-c", "echo hello; echo err >&2; exit 3"}));
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->out, "hello\n");
  EXPECT_EQ(r->exit_code, 3);
  EXPECT_FALSE(r->truncated);
  EXPECT_FALSE(r->timed_out);
}

TEST(CommandTest, ArgumentsAreNotInterpretedByAShell) {
  Result<CommandResult> r = RunCommand(Spec({"echo", "$HOME; rm -rf x", "*"}));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->out, "$HOME; rm -rf x *\n");
}

TEST(CommandTest, RunsInTheGivenDirectory) {
  CommandSpec s = Spec({"pwd"});
  s.cwd = "/";
  Result<CommandResult> r = RunCommand(s);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->out, "/\n");
  s.cwd = "/nonexistent/dir";
  EXPECT_EQ(RunCommand(s).status().code(), Status::Code::kIoError);
}

TEST(CommandTest, MissingProgramIsNotFound) {
  Result<CommandResult> r = RunCommand(Spec({"orchard-no-such-program-xyz"}));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kNotFound);
  EXPECT_EQ(RunCommand(Spec({})).status().code(), Status::Code::kInvalidArgument);
}

TEST(CommandTest, EndlessOutputIsCutAndTheChildKilled) {
  CommandSpec s = Spec({"yes"});
  s.max_output = 100000;
  auto start = std::chrono::steady_clock::now();
  Result<CommandResult> r = RunCommand(s);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->truncated);
  EXPECT_EQ(r->out.size(), 100000u);
  EXPECT_EQ(r->exit_code, -1);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
}

TEST(CommandTest, TimeoutKillsTheChild) {
  CommandSpec s = Spec({"sh", "-c", "echo started; exec sleep 30"});
  s.timeout_s = 0.3;
  Result<CommandResult> r = RunCommand(s);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->timed_out);
  EXPECT_EQ(r->out, "started\n");
  EXPECT_EQ(r->exit_code, -1);
}

TEST(CommandTest, ChildThatClosesStdoutAndLingersIsBounded) {
  CommandSpec s = Spec({"sh", "-c", "exec >/dev/null; sleep 30"});
  s.timeout_s = 0.3;
  Result<CommandResult> r = RunCommand(s);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->timed_out);
}

}  // namespace
}  // namespace orchard::capture
