#include "orchestrator/remote/slurm_config.h"

#include <gtest/gtest.h>

namespace orchard::remote {
namespace {

using nlohmann::json;

std::string Error(const json& config) {
  auto c = ParseSlurmConfig(config);
  EXPECT_FALSE(c.ok()) << config.dump();
  return c.ok() ? "" : c.status().message();
}

bool Has(const std::vector<std::string>& v, const std::string& x) {
  return std::find(v.begin(), v.end(), x) != v.end();
}

TEST(SlurmConfig, NullAndEmptyGiveTheDefaults) {
  for (const json& j : {json(), json::object()}) {
    auto c = ParseSlurmConfig(j);
    ASSERT_TRUE(c.ok()) << c.status().message();
    EXPECT_EQ(c->partition, "");
    EXPECT_EQ(c->max_jobs, 0);
    EXPECT_EQ(c->poll_s, 5);
  }
}

TEST(SlurmConfig, ReadsEveryKey) {
  auto c = ParseSlurmConfig(json::parse(R"({"partition": "gpu", "account": "ml", "qos": 1,
      "time": "1:30:00", "constraint": "a100&ib", "mem": "16G", "gpu_type": "a100",
      "cpus_per_task": 6, "max_jobs": 8, "extra": ["--exclusive", "--mail-type=END"],
      "poll_s": 2, "bin": "/opt/slurm/bin"})"));
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->partition, "gpu");
  EXPECT_EQ(c->account, "ml");
  EXPECT_EQ(c->qos, "1");
  EXPECT_EQ(c->time, "1:30:00");
  EXPECT_EQ(c->constraint, "a100&ib");
  EXPECT_EQ(c->mem, "16G");
  EXPECT_EQ(c->gpu_type, "a100");
  EXPECT_EQ(c->cpus_per_task, 6);
  EXPECT_EQ(c->max_jobs, 8);
  EXPECT_EQ(c->extra, (std::vector<std::string>{"--exclusive", "--mail-type=END"}));
  EXPECT_EQ(c->poll_s, 2);
  EXPECT_EQ(c->bin, "/opt/slurm/bin");
}

TEST(SlurmConfig, TimeAcceptsSlurmFormsAndMinutesAsANumber) {
  for (const char* t : {"90", "30:00", "1:30:00", "2-0", "2-12:00", "2-12:00:00", "UNLIMITED"}) {
    auto c = ParseSlurmConfig(json{{"time", t}});
    EXPECT_TRUE(c.ok()) << t << ": " << c.status().message();
  }
  auto minutes = ParseSlurmConfig(json{{"time", 45}});
  ASSERT_TRUE(minutes.ok());
  EXPECT_EQ(minutes->time, "45");
  EXPECT_NE(Error(json{{"time", "1h"}}).find("executor.slurm.time: '1h' is not a Slurm time limit"),
            std::string::npos);
}

TEST(SlurmConfig, UnknownKeysAreNamedWithASuggestion) {
  std::string e = Error(json{{"partiton", "gpu"}});
  EXPECT_NE(e.find("executor.slurm.partiton: unknown setting (did you mean 'partition'?)"),
            std::string::npos) << e;
  EXPECT_NE(e.find("known: partition, account"), std::string::npos) << e;
}

TEST(SlurmConfig, BadValuesSayWhatIsExpected) {
  EXPECT_NE(Error(json{{"max_jobs", 0}}).find("executor.slurm.max_jobs: expected a whole number"),
            std::string::npos);
  EXPECT_NE(Error(json{{"cpus_per_task", 1.5}}).find("cpus_per_task"), std::string::npos);
  EXPECT_NE(Error(json{{"cpus_per_task", true}}).find("cpus_per_task"), std::string::npos);
  EXPECT_NE(Error(json{{"partition", "gpu long"}}).find("holds a space"), std::string::npos);
  EXPECT_NE(Error(json{{"partition", ""}}).find("empty"), std::string::npos);
  EXPECT_NE(Error(json{{"account", "-x"}}).find("starts with '-'"), std::string::npos);
  EXPECT_NE(Error(json{{"partition", json::array({"a"})}}).find("expected a name"),
            std::string::npos);
  EXPECT_NE(Error(json{{"mem", "lots"}}).find("not a memory size"), std::string::npos);
  EXPECT_NE(Error(json{{"gpu_type", "a100:2"}}).find("one GPU type"), std::string::npos);
  EXPECT_NE(Error(json{{"poll_s", 0.1}}).find("between 1 and 3600"), std::string::npos);
  EXPECT_NE(Error(json("gpu")).find("expected a map of settings"), std::string::npos);
}

TEST(SlurmConfig, ExtraMustBeOptionsOrchardDoesNotSet) {
  auto extra = [](std::initializer_list<const char*> opts) {
    json list = json::array();
    for (const char* o : opts) list.push_back(o);
    return Error(json{{"extra", list}});
  };
  EXPECT_NE(Error(json{{"extra", "--exclusive"}}).find("expected a list of options"),
            std::string::npos);
  EXPECT_NE(extra({"--mail-type", "END"}).find("'END' is not an option"), std::string::npos);
  EXPECT_NE(extra({"--job-name=x"}).find("is set by Orchard"), std::string::npos);
  EXPECT_NE(extra({"-Jx"}).find("is set by Orchard"), std::string::npos);
  EXPECT_NE(extra({"--array=0-3"}).find("is set by Orchard"), std::string::npos);
  EXPECT_NE(extra({"--partition=gpu"}).find("set it with executor.slurm.partition"),
            std::string::npos);
  EXPECT_NE(extra({"-t", "10"}).find("executor.slurm.time"), std::string::npos);
  EXPECT_NE(extra({"--gres=gpu:2"}).find("executor.slurm.gpu_type"), std::string::npos);
  json fine = json::array({"--exclusive", "--nice=10", "--reservation=r1"});
  EXPECT_TRUE(ParseSlurmConfig(json{{"extra", fine}}).ok());
}

TEST(SlurmConfig, ResourceOptionsAskForGpusAndCpus) {
  SlurmConfig c;
  auto cpu = ResourceOptions(c, 0);
  EXPECT_TRUE(Has(cpu, "--cpus-per-task=1"));
  EXPECT_TRUE(Has(cpu, "--ntasks=1"));
  for (const auto& o : cpu) EXPECT_EQ(o.find("--gres"), std::string::npos) << o;
  auto two = ResourceOptions(c, 2);
  EXPECT_TRUE(Has(two, "--gres=gpu:2"));
  EXPECT_TRUE(Has(two, "--cpus-per-task=4"));

  c.gpu_type = "a100";
  c.cpus_per_task = 3;
  c.partition = "gpu";
  c.time = "10";
  c.extra = {"--exclusive"};
  auto typed = ResourceOptions(c, 1);
  EXPECT_TRUE(Has(typed, "--gres=gpu:a100:1"));
  EXPECT_TRUE(Has(typed, "--cpus-per-task=3"));
  EXPECT_TRUE(Has(typed, "--partition=gpu"));
  EXPECT_TRUE(Has(typed, "--time=10"));
  EXPECT_EQ(typed.back(), "--exclusive") << "extra options come last";
}

}  // namespace
}  // namespace orchard::remote
