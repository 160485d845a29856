// `orchard tune` over the SSH executor, end to end, against the real sshd
// hosts of tests/fixtures/sshd.sh (CTest fixture `sshd`): node1 and node2,
// each in its own network namespace with its own work folder (no shared
// filesystem), sshd on a port that is not 22.
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "orchestrator/store/sqlite_run_store.h"
#include "orchestrator/util/sha256.h"
#include "tests/integration/test_util.h"
#include "tests/integration/tune_fixture.h"

namespace fs = std::filesystem;

namespace orchard::testing {
namespace {

using store::RunStatus;

const std::string kFixture = std::string(ORCHARD_SOURCE_DIR) + "/tests/fixtures/sshd.sh";

struct Host {
  std::string address, port;
};

class SshExecutorTest : public TuneFixture {
 protected:
  void SetUp() override {
    ProcResult env = RunProcess({"bash", kFixture, "env"}, dir_.path(), 30);
    ASSERT_EQ(env.exit_code, 0) << env.err;
    std::istringstream lines(env.out);
    for (std::string line; std::getline(lines, line);) {
      if (line.rfind("export ", 0) != 0) continue;
      auto eq = line.find('=');
      std::string v = line.substr(eq + 1);
      if (v.size() >= 2 && v.front() == '"') v = v.substr(1, v.size() - 2);
      env_[line.substr(7, eq - 7)] = v;
    }
    dir_sshd_ = env_["ORCHARD_SSH_DIR"];
    ASSERT_TRUE(fs::exists(dir_sshd_ + "/ssh_config"))
        << "the sshd hosts are not running: tests/fixtures/sshd.sh start (CTest fixture sshd)";
    std::ifstream tsv(env_["ORCHARD_SSH_INVENTORY"]);
    std::string line;
    std::getline(tsv, line);  // header
    while (std::getline(tsv, line)) {
      std::istringstream f(line);
      std::string name, addr, port;
      f >> name >> addr >> port;
      hosts_[name] = {addr, port};
    }
    ASSERT_GE(hosts_.size(), 2u);
    // A key of our own: its path marks this test's ssh processes. Outside
    // the project: the code snapshot must not carry it to the nodes.
    key_ = state() + "/id_key";
    fs::copy_file(env_["ORCHARD_SSH_KEY"], key_);
    chmod(key_.c_str(), 0600);
    for (const char* h : {"node1", "node2"}) {  // fresh nodes: nothing shipped yet
      for (const char* sub : {"/runs", "/home", "/code", "/blobs", "/tmp"}) fs::remove_all(Work(h) + sub);
    }
  }

  void TearDown() override {
    for (const auto& h : revive_) RunProcess({"bash", kFixture, "revive", h}, dir_.path(), 60);
  }

  // A host's work folder, as seen from here.
  std::string Work(const std::string& host) { return dir_sshd_ + "/hosts/" + host + "/work"; }

  // The nodes file: node1 with GPUs `gpus1`, node2 with `gpus2`, by address
  // and port (not the ssh_config alias: the port must be honoured).
  void WriteNodes(const std::string& gpus1, const std::string& gpus2,
                  const std::string& port1 = "", const std::string& more_defaults = "") {
    std::ofstream(dir_ / "nodes.yaml")
        << "defaults:\n" << more_defaults
        << "  user: root\n  key: " << key_ << "\n  work: " << env_["ORCHARD_SSH_WORK"] << "\n"
        << "  ssh_options: [UserKnownHostsFile=" << env_["ORCHARD_SSH_KNOWN_HOSTS"]
        << ", GlobalKnownHostsFile=/dev/null, StrictHostKeyChecking=yes, CheckHostIP=no,"
        << " KexAlgorithms=curve25519-sha256, ConnectTimeout=3]\n"
        << "nodes:\n"
        << "  - {name: node1, host: " << hosts_["node1"].address
        << ", port: " << (port1.empty() ? hosts_["node1"].port : port1) << ", gpus: " << gpus1 << "}\n"
        << "  - {name: node2, host: " << hosts_["node2"].address << ", port: " << hosts_["node2"].port
        << ", gpus: " << gpus2 << "}\n";
  }

  // A trainer in the project (shipped with its snapshot): claims its GPUs on
  // the node (an atomic mkdir: a GPU given to two trials at once fails the
  // trial), reports `score` = --x twice, `pause` seconds apart, and leaves an
  // artifact.
  void WriteTrainer(const std::string& extra = "") {
    WriteScript(dir_ / "train.sh", R"sh(#!/bin/sh
x=0; pause=0.2
for a; do case $a in --x=*) x=${a#--x=} ;; --pause=*) pause=${a#--pause=} ;; esac; done
for g in $(echo "$CUDA_VISIBLE_DEVICES" | tr , ' '); do
  mkdir "$ORCHARD_HOME/claim-$g" || { echo "GPU $g is in use" >&2; exit 3; }
done
echo "host=$(hostname) cvd=$CUDA_VISIBLE_DEVICES pwd=$(pwd) run_dir=$ORCHARD_RUN_DIR"
)sh" + extra + R"sh(
echo "@orchard {\"step\": 0, \"score\": $x}"
sleep "$pause"
echo "@orchard {\"step\": 1, \"score\": $x}"
echo "model $x from $(hostname)" > "$ORCHARD_RUN_DIR/model.txt"
for g in $(echo "$CUDA_VISIBLE_DEVICES" | tr , ' '); do rmdir "$ORCHARD_HOME/claim-$g"; done
)sh");
  }

  // "PID COMMAND" of the host's processes whose command line mentions `what`.
  std::string Procs(const std::string& host, const std::string& what) {
    ProcResult p = RunProcess({"bash", kFixture, "procs", host}, dir_.path(), 30);
    std::string found;
    std::istringstream lines(p.out);
    for (std::string line; std::getline(lines, line);) {
      if (line.find(what) != std::string::npos) found += line + "\n";
    }
    return found;
  }

  // Our own local ssh clients (their argv names our key).
  std::string LocalSsh() {
    ProcResult p = RunProcess({"pgrep", "-af", "-i " + key_}, dir_.path(), 10);
    return p.out;
  }

  std::map<std::string, std::string> env_;
  std::map<std::string, Host> hosts_;
  std::string dir_sshd_, key_;
  std::vector<std::string> revive_;
};

TEST_F(SshExecutorTest, TuneRunsOnBothNodesWithTheirGpusAndShipsCodeOnce) {
  WriteNodes("[0, 1]", "[7]");
  WriteTrainer();
  WriteSpec(R"(command: [./train.sh]
flags: {pause: 0.3}
search: {x: [1, 2, 3, 4, 5, 6]}
method: grid
objective: {metric: score, goal: max}
resources: {concurrency: 3, gpus_per_trial: 1}
executor: {ssh: nodes.yaml}
)");
  ProcResult r = Tune({}, 120);
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.err.find("ssh: 2 of 2 node(s) up (node1 GPU 0,1; node2 GPU 7)"), std::string::npos) << r.err;
  store::Tune tune = OnlyTune();
  EXPECT_EQ(tune.status, "completed");
  auto runs = Trials(tune.id);
  ASSERT_EQ(runs.size(), 6u);
  std::map<std::string, int> per_host;
  std::set<std::string> shipped_to;
  for (const auto& run : runs) {
    EXPECT_EQ(run.status, RunStatus::kCompleted) << run.error << Logs(run.id);
    std::string logs = Logs(run.id);
    std::string host = logs.find("host=node1") != std::string::npos   ? "node1"
                       : logs.find("host=node2") != std::string::npos ? "node2"
                                                                      : "?";
    ++per_host[host];
    EXPECT_EQ(run.host, host) << "the run records the node it ran on";
    EXPECT_EQ(run.env.value("node", "?"), host);
    // Its own GPU, from its node's declared ids.
    if (host == "node1") {
      EXPECT_TRUE(logs.find("cvd=0 ") != std::string::npos || logs.find("cvd=1 ") != std::string::npos) << logs;
    } else {
      EXPECT_NE(logs.find("cvd=7 "), std::string::npos) << logs;
    }
    EXPECT_EQ(run.env.value("cuda_visible_devices", "?").size(), 1u) << run.env.dump();
    // Run from the shipped snapshot, with a run folder of its own on the node.
    EXPECT_NE(logs.find("pwd=" + env_["ORCHARD_SSH_WORK"] + "/code/" + run.snapshot_id), std::string::npos) << logs;
    EXPECT_NE(logs.find("run_dir=" + env_["ORCHARD_SSH_WORK"] + "/runs/" + run.id), std::string::npos) << logs;
    if (logs.find("orchard: shipped code") != std::string::npos) shipped_to.insert(host);
    EXPECT_EQ(MetricCount(run.id, "score"), 2u);
    // The artifact came back and is indexed.
    std::string x = run.flags["x"].dump();
    EXPECT_EQ(ReadFile(run.run_dir + "/model.txt"), "model " + x + " from " + host + "\n");
    auto arts = Store()->GetArtifacts(run.id);
    ASSERT_TRUE(arts.ok());
    ASSERT_EQ(arts->size(), 1u);
    EXPECT_EQ((*arts)[0].path, "model.txt");
  }
  EXPECT_GE(per_host["node1"], 1);
  EXPECT_GE(per_host["node2"], 1);
  EXPECT_EQ(per_host["?"], 0);
  EXPECT_EQ(shipped_to, (std::set<std::string>{"node1", "node2"}));  // once per node
  for (const char* h : {"node1", "node2"}) {
    // The node's copy of each run folder was removed once copied back.
    size_t left = 0;
    for (const auto& e : fs::directory_iterator(Work(h) + "/runs")) left += e.path().filename() != "." ? 1 : 0;
    EXPECT_EQ(left, 0u) << h;
    EXPECT_TRUE(fs::exists(Work(h) + "/code/" + runs[0].snapshot_id + "/train.sh")) << h;
  }
  EXPECT_EQ(LocalSsh(), "");  // no ssh client or master outlives the tune

  // The same code again: nothing is shipped.
  ProcResult again = Tune({"--new", "--executor", "ssh:nodes.yaml", "--max-trials", "2"}, 120);
  ASSERT_EQ(again.exit_code, 0) << again.err;
  auto tunes = Tunes();
  ASSERT_EQ(tunes.size(), 2u);
  for (const auto& t : tunes) {
    if (t.id == tune.id) continue;
    for (const auto& run : Trials(t.id)) {
      EXPECT_EQ(run.status, RunStatus::kCompleted);
      EXPECT_EQ(Logs(run.id).find("orchard: shipped code"), std::string::npos) << Logs(run.id);
    }
  }
  // A changed file: only it travels.
  WriteTrainer("echo changed");
  ProcResult changed = Tune({"--new", "--max-trials", "1"}, 120);
  ASSERT_EQ(changed.exit_code, 0) << changed.err;
  auto last = AllRuns().back();
  EXPECT_NE(Logs(last.id).find(": 1 new file(s) of "), std::string::npos) << Logs(last.id);
}

TEST_F(SshExecutorTest, StoppedTrialsLeaveNoProcessOnTheNodes) {
  WriteNodes("[0]", "[0]");
  // A trainer that ignores nothing: sleep 417 marks its processes.
  WriteScript(dir_ / "slow.sh", "#!/bin/sh\necho \"@orchard {\\\"score\\\": 1}\"\nsleep 417 &\nwait\n");
  WriteSpec(R"(command: [./slow.sh]
search: {x: [1, 2, 3, 4]}
method: grid
resources: {concurrency: 2, gpus_per_trial: 1, timeout: 2}
executor: {ssh: nodes.yaml}
)");
  // 1. Timed out (stopped as a pruned trial is: SIGTERM through ssh).
  ProcResult r = Tune({"--max-trials", "2"}, 120);
  auto runs = AllRuns();
  ASSERT_EQ(runs.size(), 2u) << r.err;
  for (const auto& run : runs) EXPECT_EQ(run.status, RunStatus::kFailed) << run.error;
  for (const char* h : {"node1", "node2"}) EXPECT_EQ(Procs(h, "417"), "") << h;

  // 2. Ctrl-C: the tune is cancelled, every trial stopped on its node.
  std::string out = dir_ / "tune.out", err = dir_ / "tune.err";
  pid_t pid = Spawn(TuneArgv({"--new"}), dir_.path(), out, err);
  ASSERT_TRUE(WaitUntil(30, [&] { return Procs("node1", "sleep 417") != "" && Procs("node2", "sleep 417") != ""; }))
      << ReadFile(err);
  kill(pid, SIGINT);
  EXPECT_EQ(WaitFor(pid, 60), 130) << ReadFile(err);
  for (const char* h : {"node1", "node2"}) EXPECT_EQ(Procs(h, "417"), "") << h;
  EXPECT_EQ(LocalSsh(), "");

  // 3. The orchestrator killed outright: the closed channel stops them.
  pid = Spawn(TuneArgv({"--new"}), dir_.path(), out, err);
  ASSERT_TRUE(WaitUntil(30, [&] { return Procs("node1", "sleep 417") != "" && Procs("node2", "sleep 417") != ""; }))
      << ReadFile(err);
  kill(pid, SIGKILL);
  WaitFor(pid, 10);
  EXPECT_TRUE(WaitUntil(20, [&] { return Procs("node1", "417") == "" && Procs("node2", "417") == ""; }))
      << Procs("node1", "417") << Procs("node2", "417");
  EXPECT_TRUE(WaitUntil(20, [&] { return LocalSsh() == ""; })) << LocalSsh();
}

TEST_F(SshExecutorTest, KilledNodeHasItsTrialRequeuedAndLosesNothing) {
  // The inline form, through the fixture's ssh_config (aliases node1/node2).
  WriteTrainer("i=0; while [ $i -lt 30 ]; do echo \"@orchard {\\\"tick\\\": $i}\"; i=$((i+1)); sleep 0.2; done");
  WriteSpec(R"(command: [./train.sh]
search: {x: [1, 2, 3]}
method: grid
objective: {metric: score, goal: max}
resources: {concurrency: 2, gpus_per_trial: 1}
executor:
  ssh:
    nodes:
      - {host: node1, gpus: [0]}
      - {host: node2, gpus: [0]}
    defaults: {ssh_config: )" + env_["ORCHARD_SSH_CONFIG"] + ", key: " + key_ + ", work: " +
            env_["ORCHARD_SSH_WORK"] + "}\n");
  std::string out = dir_ / "tune.out", err = dir_ / "tune.err";
  pid_t pid = Spawn(TuneArgv(), dir_.path(), out, err);
  // Once node1's trial has reported a few ticks, node1 loses power.
  std::string victim;
  ASSERT_TRUE(WaitUntil(60, [&] {
    for (const auto& run : AllRuns()) {
      if (Logs(run.id).find("host=node1") != std::string::npos && MetricCount(run.id, "tick") >= 3) {
        victim = run.id;
        return true;
      }
    }
    return false;
  })) << ReadFile(err);
  revive_.push_back("node1");
  ProcResult k = RunProcess({"bash", kFixture, "kill", "node1"}, dir_.path(), 60);
  ASSERT_EQ(k.exit_code, 0) << k.err;
  ASSERT_EQ(WaitFor(pid, 120), 0) << ReadFile(err);
  std::string progress = ReadFile(err);
  EXPECT_NE(progress.find("lost on node1"), std::string::npos) << progress;
  EXPECT_NE(progress.find("re-queued"), std::string::npos) << progress;

  store::Tune tune = OnlyTune();
  EXPECT_EQ(tune.status, "completed");
  auto runs = Trials(tune.id);
  ASSERT_EQ(runs.size(), 4u);  // 3 trials, one of them twice
  std::map<int64_t, int> completed;
  for (const auto& run : runs) {
    if (run.id == victim) {
      EXPECT_EQ(run.status, RunStatus::kFailed);
      EXPECT_NE(run.error.find("lost: "), std::string::npos) << run.error;
      EXPECT_GE(MetricCount(run.id, "tick"), 3u);  // what it reported stays
      continue;
    }
    EXPECT_EQ(run.status, RunStatus::kCompleted) << run.error;
    ++completed[*run.trial];
  }
  EXPECT_EQ(completed.size(), 3u);
  // The re-run attempt ran on the node still up.
  for (const auto& run : runs) {
    if (run.attempt == 2) {
      EXPECT_NE(Logs(run.id).find("host=node2"), std::string::npos);
      EXPECT_EQ(run.host, "node2");
    }
  }
}

TEST_F(SshExecutorTest, BadInventoryNamesFileLineAndKey) {
  std::ofstream(dir_ / "nodes.yaml") << "nodes:\n  - host: " << hosts_["node1"].address
                                      << "\n    port: twenty-two\n";
  WriteTrainer();
  WriteSpec("command: [./train.sh]\nsearch: {x: [1]}\nexecutor: {ssh: nodes.yaml}\n");
  ProcResult r = Tune({}, 60);
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find(dir_.path() + "/nodes.yaml:3: nodes[0].port: expected a port number from 1 "
                                     "to 65535, got 'twenty-two'"),
            std::string::npos)
      << r.err;
  EXPECT_EQ(TuneCount(), 0u);
}

TEST_F(SshExecutorTest, WrongPortIsAClearErrorAndTheOtherNodeCarriesOn) {
  WriteNodes("[0]", "[0]", "2299");
  WriteTrainer();
  WriteSpec("command: [./train.sh]\nsearch: {x: [1, 2]}\nmethod: grid\n"
            "resources: {gpus_per_trial: 1}\nexecutor: {ssh: nodes.yaml}\n");
  ProcResult r = Tune({}, 60);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("ssh: 1 of 2 node(s) up (node1 down (Connection refused); node2 GPU 0)"), std::string::npos) << r.err;
  for (const auto& run : AllRuns()) EXPECT_NE(Logs(run.id).find("host=node2"), std::string::npos);

  // No node at all answers: the error names each and why.
  std::ofstream(dir_ / "bad.yaml") << "- {host: " << hosts_["node1"].address
                                    << ", port: 2299, gpus: [0], key: " << key_ << ", ssh_options: [ConnectTimeout=3]}\n";
  ProcResult bad = Tune({"--new", "--executor", "ssh:bad.yaml"}, 60);
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_NE(bad.err.find("executor.ssh: no node answered"), std::string::npos) << bad.err;
  EXPECT_NE(bad.err.find("cannot connect to " + hosts_["node1"].address + " (" +
                         hosts_["node1"].address + " port 2299): "),
            std::string::npos)
      << bad.err;
  EXPECT_NE(bad.err.find("Connection refused"), std::string::npos) << bad.err;
}

// `orchard infer --shards 4 --executor ssh:nodes.yaml`: the bundle, the
// shard lists and their images travel to the nodes (which do not see our
// files: they live where each node has a folder of its own), the node's
// orchard-train (the nodes file's `orchard_train`) runs there, and the
// shards' .out files come back and merge exactly once. The worker is a
// stand-in that follows the worker protocol (docs/inference.md), so that the
// test needs no libtorch; its records carry each image's content and the
// bundle's, which only shipped files can give.
TEST_F(SshExecutorTest, InferShipsInputsAndBringsShardsBack) {
  const std::string local = env_["ORCHARD_SSH_WORK"] + "/infer-" + fs::path(dir_.path()).filename().string();
  struct Cleanup {
    std::string path;
    ~Cleanup() { fs::remove_all(path); }
  } cleanup{local};
  const std::string bundle = local + "/bundle", images = local + "/images";
  fs::create_directories(bundle);
  fs::create_directories(images + "/sub");
  std::ofstream(bundle + "/model.pt") << "model-v1";
  nlohmann::json card = {{"format", "orchard-bundle"}, {"version", 1}, {"classes", {"a", "b"}},
                         {"files", {{"model.pt", {{"sha256", Sha256Hex("model-v1")}, {"bytes", 8}}}}}};
  std::ofstream(bundle + "/bundle.json") << card.dump(2);
  for (int i = 0; i < 37; ++i) {
    char name[32];
    snprintf(name, sizeof name, "%s/img-%03d.png", i % 5 == 0 ? "sub" : ".", i);
    std::ofstream(images + "/" + name) << "pixels-" << i;
  }
  // The worker, installed on each node (in its own folder) as orchard-train.
  const std::string worker = R"PY(#!/usr/bin/python3
import json, os, sys, socket
args = dict(a[2:].split('=', 1) for a in sys.argv[2:] if a.startswith('--') and '=' in a)
model = open(os.path.join(args['bundle'], 'model.pt')).read()
done = 0
for line in open(args['shards']):
    lst, out = line.rstrip('\n').split('\t')
    if os.path.exists(out):
        continue
    with open(out + '.tmp', 'w') as o:
        for inp in open(lst):
            inp = inp.rstrip('\n')
            seen = open(os.path.join(args['root'], inp)).read()
            o.write(json.dumps({'input': inp, 'seen': seen, 'model': model, 'host': socket.gethostname(),
                                'cvd': os.environ.get('CUDA_VISIBLE_DEVICES')}) + '\n')
            done += 1
    os.rename(out + '.tmp', out)
    print('@orchard ' + json.dumps({'step': done, 'images': done, 'errors': 0}), flush=True)
)PY";
  for (const char* h : {"node1", "node2"}) {
    fs::create_directories(Work(h) + "/bin");
    WriteScript(Work(h) + "/bin/orchard-train", worker);
  }
  WriteNodes("[0]", "[3]", "", "  orchard_train: " + env_["ORCHARD_SSH_WORK"] + "/bin/orchard-train\n");
  ProcResult r = RunOrchard(home(), {"infer", bundle, "--input", images, "--output", local + "/out.jsonl",
                                     "--shards", "4", "--executor", "ssh:nodes.yaml", "--keep-work"},
                            dir_.path(), 180);
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.err.find("4 shards, 4 to do on 2 workers (cuda, 1 GPU each, ssh: 2 of 2 node(s) up"),
            std::string::npos) << r.err;
  std::istringstream out(ReadFile(local + "/out.jsonl"));
  std::vector<nlohmann::json> records;
  for (std::string line; std::getline(out, line);) records.push_back(nlohmann::json::parse(line));
  ASSERT_EQ(records.size(), 37u) << r.err;  // exactly once
  std::set<std::string> hosts;
  for (const auto& rec : records) {
    std::string input = rec["input"];
    int i = std::stoi(input.substr(input.find("img-") + 4, 3));
    EXPECT_EQ(rec["seen"], "pixels-" + std::to_string(i)) << rec.dump();
    EXPECT_EQ(rec["model"], "model-v1");
    hosts.insert(rec["host"]);
    EXPECT_EQ(rec["cvd"], rec["host"] == "node1" ? "0" : "3") << rec.dump();
  }
  EXPECT_EQ(hosts, (std::set<std::string>{"node1", "node2"}));
  for (const char* h : {"node1", "node2"}) {  // nothing left behind on the nodes
    EXPECT_TRUE(fs::is_empty(Work(h) + "/runs")) << h;
  }
}

}  // namespace
}  // namespace orchard::testing
