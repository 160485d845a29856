#include "orchestrator/remote/ssh_inventory.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

namespace orchard::remote {
namespace {

class InventoryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/inventory-test-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    std::ofstream(dir_ + "/id_test") << "not really a key\n";
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  Result<std::vector<SshNodeConfig>> Parse(const std::string& yaml) {
    return ParseSshInventory(yaml, "nodes.yaml", dir_);
  }
  std::string Error(const std::string& yaml) {
    auto r = Parse(yaml);
    EXPECT_FALSE(r.ok()) << yaml;
    return r.ok() ? "" : r.status().message();
  }

  std::string dir_;
};

TEST_F(InventoryTest, FullNodeWithDefaults) {
  auto nodes = Parse(R"(defaults:
  user: orchard
  key: id_test
  work: /scratch/orchard
  env: {OMP_NUM_THREADS: 2}
nodes:
  - host: gpu1.example.org
    port: 2222
    gpus: [0, 1, 3]
    orchard_train: /opt/orchard/bin/orchard-train
    path: [/opt/conda/bin]
    env: {HF_HOME: /data/hf}
    ssh_options: [StrictHostKeyChecking=accept-new]
  - host: cpu7
    name: big-cpu
    user: bob
    slots: 4
    source: ~/.profile
)");
  ASSERT_TRUE(nodes.ok()) << nodes.status().message();
  ASSERT_EQ(nodes->size(), 2u);
  const SshNodeConfig& a = (*nodes)[0];
  EXPECT_EQ(a.name, "gpu1.example.org");
  EXPECT_EQ(a.port, 2222);
  EXPECT_EQ(a.user, "orchard");
  EXPECT_EQ(a.key, dir_ + "/id_test");
  EXPECT_EQ(a.gpus, (std::vector<std::string>{"0", "1", "3"}));
  EXPECT_EQ(a.CpuSlots(), 3);
  EXPECT_EQ(a.work, "/scratch/orchard");
  EXPECT_EQ(a.path, (std::vector<std::string>{"/opt/conda/bin"}));
  EXPECT_EQ(a.env.at("HF_HOME"), "/data/hf");
  EXPECT_EQ(a.env.at("OMP_NUM_THREADS"), "2");
  EXPECT_EQ(a.ssh_options, (std::vector<std::string>{"StrictHostKeyChecking=accept-new"}));
  EXPECT_EQ(a.origin, "nodes.yaml:7");
  const SshNodeConfig& b = (*nodes)[1];
  EXPECT_EQ(b.name, "big-cpu");
  EXPECT_EQ(b.user, "bob");
  EXPECT_TRUE(b.gpus.empty());
  EXPECT_EQ(b.CpuSlots(), 4);
  EXPECT_EQ(b.source, "~/.profile");
  EXPECT_EQ(b.env.at("OMP_NUM_THREADS"), "2");
}

TEST_F(InventoryTest, HostShorthandsAndCounts) {
  auto nodes = Parse("- alice@10.0.0.5:2201\n- host: '[::1]:2202'\n  gpus: 2\n- plain\n");
  ASSERT_TRUE(nodes.ok()) << nodes.status().message();
  EXPECT_EQ((*nodes)[0].user, "alice");
  EXPECT_EQ((*nodes)[0].host, "10.0.0.5");
  EXPECT_EQ((*nodes)[0].port, 2201);
  EXPECT_EQ((*nodes)[0].CpuSlots(), 1);
  EXPECT_EQ((*nodes)[1].host, "::1");
  EXPECT_EQ((*nodes)[1].port, 2202);
  EXPECT_EQ((*nodes)[1].gpus, (std::vector<std::string>{"0", "1"}));
  EXPECT_EQ((*nodes)[2].host, "plain");
  EXPECT_EQ((*nodes)[2].port, 0);
}

TEST_F(InventoryTest, SameHostTwiceIsNamedByPort) {
  auto nodes = Parse("- {host: box, port: 2201}\n- {host: box, port: 2202}\n");
  ASSERT_TRUE(nodes.ok()) << nodes.status().message();
  EXPECT_EQ((*nodes)[0].name, "box");
  EXPECT_EQ((*nodes)[1].name, "box_2202");
  EXPECT_EQ(Error("- {host: box}\n- {host: box}\n"),
            "nodes.yaml:2: [1]: node name 'box' is already used on line 1; give this one a name:");
}

TEST_F(InventoryTest, ErrorsNameFileLineAndKey) {
  EXPECT_EQ(Error("nodes:\n  - host: a\n    port: ssh\n"),
            "nodes.yaml:3: nodes[0].port: expected a port number from 1 to 65535, got 'ssh'");
  EXPECT_EQ(Error("nodes:\n  - host: a\n    prot: 22\n"),
            "nodes.yaml:3: nodes[0]: unknown key 'prot' (did you mean 'port'?)");
  EXPECT_EQ(Error("nodes:\n  - host: a\n  - port: 22\n"), "nodes.yaml:3: nodes[1]: missing key 'host'");
  EXPECT_EQ(Error("- host: a\n  gpus: [0, 0]\n"), "nodes.yaml:2: [0].gpus: GPU id '0' is listed twice");
  EXPECT_EQ(Error("- host: a\n  env: {1BAD: x}\n"),
            "nodes.yaml:2: [0].env.1BAD: not a valid environment variable name");
  EXPECT_EQ(Error("- host: a\n  slots: 0\n"),
            "nodes.yaml:2: [0].slots: expected a number of jobs from 1 to 1024, got '0'");
  EXPECT_EQ(Error("- host: a\n  ssh_options: [Port]\n"),
            "nodes.yaml:2: [0].ssh_options: expected Key=Value options such as "
            "ServerAliveInterval=5, got 'Port'");
  EXPECT_EQ(Error("- host: a\n  path: /a:/b\n"),
            "nodes.yaml:2: [0].path: give one folder per list item, not ':'-separated");
  EXPECT_NE(Error("- host: a\n  key: missing_key\n").find("nodes.yaml:2: [0].key: cannot read " + dir_ +
                                                          "/missing_key: No such file"),
            std::string::npos);
  EXPECT_EQ(Error("- host: -oProxyCommand=x\n"),
            "nodes.yaml:1: [0].host: expected a host name or address, got '-oProxyCommand=x'");
  EXPECT_EQ(Error("nodes: []\n"), "nodes.yaml:1: nodes: no nodes listed");
  EXPECT_EQ(Error("defaults: {user: x}\n"), "nodes.yaml:1: missing key 'nodes' (a list of hosts)");
  EXPECT_EQ(Error("nodes:\n  - host: a\n   bad: [\n"),
            "nodes.yaml:3: YAML syntax error: end of sequence not found");
}

TEST_F(InventoryTest, InlineListFromTheSpec) {
  auto nodes = LoadSshInventory(nlohmann::json::array({"n1:2201", {{"host", "n2"}, {"gpus", {0}}}}),
                                dir_);
  ASSERT_TRUE(nodes.ok()) << nodes.status().message();
  EXPECT_EQ((*nodes)[0].port, 2201);
  EXPECT_EQ((*nodes)[1].gpus, (std::vector<std::string>{"0"}));
  auto bad = LoadSshInventory(nlohmann::json::array({{{"host", "n2"}, {"port", "x"}}}), dir_);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(),
            "executor.ssh[0].port: expected a port number from 1 to 65535, got 'x'");
}

TEST_F(InventoryTest, NodesFileResolvesAgainstTheSpecFolder) {
  std::filesystem::create_directories(dir_ + "/cluster");
  std::ofstream(dir_ + "/cluster/nodes.yaml") << "- host: n1\n  key: ../id_test\n";
  auto nodes = LoadSshInventory("cluster/nodes.yaml", dir_);
  ASSERT_TRUE(nodes.ok()) << nodes.status().message();
  EXPECT_EQ((*nodes)[0].key, dir_ + "/id_test");
  auto missing = LoadSshInventory("nope.yaml", dir_);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().message(),
            "executor.ssh: cannot read the nodes file " + dir_ + "/nope.yaml: No such file or directory");
}

}  // namespace
}  // namespace orchard::remote
