#include "orchestrator/capture/environment.h"

#include <gtest/gtest.h>
#include <stdlib.h>

namespace orchard::capture {
namespace {

CommandRunner Fake(int exit_code, std::string out) {
  return [=](const CommandSpec& spec) -> Result<CommandResult> {
    EXPECT_EQ(spec.argv[0], "nvidia-smi");
    EXPECT_LE(spec.timeout_s, 10);
    CommandResult r;
    r.exit_code = exit_code;
    r.out = out;
    return r;
  };
}

CommandRunner Missing() {
  return [](const CommandSpec&) -> Result<CommandResult> {
    return Status::NotFound("nvidia-smi not found on PATH");
  };
}

TEST(EnvironmentTest, BasicFields) {
  nlohmann::json env = CaptureEnvironment(Missing());
  EXPECT_FALSE(env["host"].get<std::string>().empty());
  EXPECT_EQ(env["os"]["sysname"], "Linux");
  EXPECT_FALSE(env["os"]["release"].get<std::string>().empty());
  EXPECT_GE(env["cpu_count"].get<int>(), 1);
  EXPECT_GE(env["cpus_available"].get<int>(), 1);
  EXPECT_NE(env["compiler"].get<std::string>().find(' '), std::string::npos);
  EXPECT_EQ(env["orchard_version"], ORCHARD_VERSION);
  EXPECT_EQ(env["sqlite_version"].get<std::string>().substr(0, 2), "3.");
  EXPECT_EQ(env["gpus"], nlohmann::json::array());
  EXPECT_FALSE(env.contains("gpu_error"));
}

TEST(EnvironmentTest, GpusFromNvidiaSmi) {
  nlohmann::json env = CaptureEnvironment(Fake(
      0,
      "0, NVIDIA H100 80GB HBM3, 81559 MiB, GPU-0d1a2b3c\n"
      "1, NVIDIA A100-SXM4-40GB, 40960 MiB, GPU-ffff\n"));
  ASSERT_EQ(env["gpus"].size(), 2u);
  EXPECT_EQ(env["gpus"][0]["index"], 0);
  EXPECT_EQ(env["gpus"][0]["name"], "NVIDIA H100 80GB HBM3");
  EXPECT_EQ(env["gpus"][0]["memory_total_mib"], 81559);
  EXPECT_EQ(env["gpus"][0]["uuid"], "GPU-0d1a2b3c");
  EXPECT_EQ(env["gpus"][1]["index"], 1);
}

TEST(EnvironmentTest, FailingNvidiaSmiIsReported) {
  nlohmann::json env = CaptureEnvironment(
      Fake(9, "NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver.\n"));
  EXPECT_EQ(env["gpus"], nlohmann::json::array());
  EXPECT_EQ(env["gpu_error"], "nvidia-smi exited with 9");
}

TEST(EnvironmentTest, ParseToleratesOddLines) {
  nlohmann::json g = ParseNvidiaSmiGpus(
      "garbage\n"
      "x, name, 1 MiB, uuid\n"
      "2, Weird, Name, With Commas, [N/A], GPU-2\r\n"
      "\n");
  ASSERT_EQ(g.size(), 1u);
  EXPECT_EQ(g[0]["index"], 2);
  EXPECT_EQ(g[0]["name"], "Weird, Name, With Commas");
  EXPECT_FALSE(g[0].contains("memory_total_mib"));
  EXPECT_EQ(g[0]["uuid"], "GPU-2");
}

TEST(EnvironmentTest, CudaVisibleDevices) {
  const char* old = std::getenv("CUDA_VISIBLE_DEVICES");
  std::string saved = old ? old : "";
  ::setenv("CUDA_VISIBLE_DEVICES", "1,3", 1);
  EXPECT_EQ(CaptureEnvironment(Missing())["cuda_visible_devices"], "1,3");
  ::unsetenv("CUDA_VISIBLE_DEVICES");
  EXPECT_FALSE(CaptureEnvironment(Missing()).contains("cuda_visible_devices"));
  if (old) ::setenv("CUDA_VISIBLE_DEVICES", saved.c_str(), 1);
}

TEST(EnvironmentTest, RealRunnerNeverFails) {
  nlohmann::json env = CaptureEnvironment();
  EXPECT_TRUE(env["gpus"].is_array());
}

}  // namespace
}  // namespace orchard::capture
