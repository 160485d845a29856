// The node-side scripts run here with a local sh (what ssh would run on the
// node), and the local helpers they rely on: quoting, the tar writer.
#include "orchestrator/remote/ssh_scripts.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include <gtest/gtest.h>

#include "orchestrator/remote/ssh_process.h"
#include "orchestrator/remote/ssh_ship.h"
#include "orchestrator/util/clock.h"
#include "orchestrator/util/sha256.h"

namespace fs = std::filesystem;

namespace orchard::remote {
namespace {

class ScriptsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/ssh-scripts-test-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    work_ = dir_ + "/work";
  }
  void TearDown() override { fs::remove_all(dir_); }

  // `sh -c COMMAND`, as the node's login shell runs what ssh sends.
  CommandResult Sh(const std::string& command, const std::string& input = "") {
    auto r = RunCommand({"sh", "-c", command}, input, 30);
    EXPECT_TRUE(r.ok()) << r.status().message();
    return r.ok() ? *r : CommandResult{};
  }
  // A job as ssh starts it: stdin a pipe we hold open (its closing is
  // the channel closing), output into files.
  Spawned StartJob(const std::string& name, const std::vector<std::string>& argv,
                   const std::map<std::string, std::string>& env = {}) {
    std::vector<std::string> args = {work_, name, "", "1", "", "/opt/none"};
    args.insert(args.end(), argv.begin(), argv.end());
    int out = open((dir_ + "/" + name + ".out").c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    int err = open((dir_ + "/" + name + ".err").c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    auto sp = SpawnProcess({"sh", "-c", scripts::Command(scripts::JobScript(env), args)}, -1, out, err);
    close(out);
    close(err);
    EXPECT_TRUE(sp.ok());
    return sp.ok() ? *sp : Spawned{};
  }
  exec::ExitInfo Finish(Spawned sp) {
    exec::ExitInfo e = WaitExit(sp.pid, 10);
    close(sp.stdin_fd);
    return e;
  }
  // Running (a zombie waiting for its reaper is not).
  static bool Alive(pid_t pid) {
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
    size_t paren = text.rfind(')');
    return paren != std::string::npos && paren + 2 < text.size() && text[paren + 2] != 'Z';
  }
  std::string Read(const std::string& path) {
    std::ifstream in(path);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }

  std::string dir_, work_;
};

TEST_F(ScriptsTest, QuotingSurvivesTheShell) {
  for (std::string s : {"plain", "it's", "a b  c", "$HOME `x` \"q\" \\n", "", "'"}) {
    CommandResult r = Sh("printf %s " + ShQuote(s));
    EXPECT_EQ(r.out, s);
  }
}

TEST_F(ScriptsTest, SetupMakesTheWorkFolderAndReportsIt) {
  CommandResult r = Sh(scripts::Command(scripts::kSetup, {work_}));
  ASSERT_TRUE(r.ok()) << r.err;
  EXPECT_EQ(r.out.rfind("ok " + fs::canonical(work_).string() + " ", 0), 0u) << r.out;
  for (const char* d : {"blobs", "code", "runs", "home", "tmp"}) EXPECT_TRUE(fs::is_directory(work_ + "/" + d));
}

TEST_F(ScriptsTest, ShippingSendsOnlyMissingBlobsAndBuildsTheFolder) {
  ASSERT_TRUE(Sh(scripts::Command(scripts::kSetup, {work_})).ok());
  std::string a = "echo a\n", b = "#!/bin/sh\necho b\n";
  std::string ha = Sha256Hex(a), hb = Sha256Hex(b);
  std::ofstream(work_ + "/blobs/" + ha) << a;  // already there
  CommandResult check = Sh(scripts::Command(scripts::kShipCheck, {work_, "code/s1"}), ha + "\n" + hb + "\n");
  EXPECT_EQ(check.out, hb + "\nEND\n");
  std::string manifest = "644 " + ha + " a.txt\n755 " + hb + " sub dir/run.sh\n";
  CommandResult sent = Sh(scripts::Command(scripts::kShipReceive, {work_, "code/s1", "copy"}),
                          UstarArchive({{"blobs/" + hb, b}, {"manifest", manifest}}));
  ASSERT_TRUE(sent.ok()) << sent.err;
  EXPECT_EQ(Read(work_ + "/code/s1/a.txt"), a);
  EXPECT_EQ(Read(work_ + "/code/s1/sub dir/run.sh"), b);
  EXPECT_EQ(access((work_ + "/code/s1/sub dir/run.sh").c_str(), X_OK), 0);
  EXPECT_EQ(Sh(scripts::Command(scripts::kShipCheck, {work_, "code/s1"}), ha + "\n").out, "READY\n");
  // Linked: the file is the blob.
  ASSERT_TRUE(Sh(scripts::Command(scripts::kShipReceive, {work_, "runs/j1", "link"}),
                 UstarArchive({{"manifest", "644 " + ha + " in/a.png\n"}})).ok());
  EXPECT_EQ(fs::hard_link_count(work_ + "/runs/j1/in/a.png"), 2u);
  EXPECT_TRUE(fs::is_empty(work_ + "/tmp"));
}

TEST_F(ScriptsTest, JobRecordsTheTrainersExitAndPackBringsBackWhatIsAsked) {
  ASSERT_TRUE(Sh(scripts::Command(scripts::kSetup, {work_})).ok());
  Spawned job = StartJob("r1", {"sh", "-c",
                                 "echo \"$GREETING $ORCHARD_RUN_DIR $(pwd)\"; "
                                 "echo x > $ORCHARD_RUN_DIR/a; echo y > $ORCHARD_RUN_DIR/b; exit 7"},
                         {{"GREETING", "it's me"}});
  EXPECT_EQ(Finish(job).exit_code, 7) << Read(dir_ + "/r1.err");
  EXPECT_EQ(Read(dir_ + "/r1.out"), "it's me " + work_ + "/runs/r1 " + fs::canonical(work_).string() + "\n");
  EXPECT_EQ(Read(work_ + "/runs/r1.status"), "7\n");
  EXPECT_EQ(Sh(scripts::Command(scripts::kStatus, {work_, "r1"})).out, "7\n");
  // Only what is fetched (that exists) comes back.
  auto pack = RunPipeline({"sh", "-c", scripts::Command(scripts::kPackRun, {work_, "r1", "b\nmissing"})},
                          {"tar", "-tf", "-"}, 30);
  ASSERT_TRUE(pack.ok());
  EXPECT_TRUE(pack->first.ok()) << pack->first.err;
  CommandResult gone = Sh(scripts::Command(scripts::kRemoveRuns, {work_, "r1"}));
  EXPECT_FALSE(fs::exists(work_ + "/runs/r1"));
  EXPECT_FALSE(fs::exists(work_ + "/runs/r1.status"));
  // A command that is not there: 127 and a message naming it.
  EXPECT_EQ(Finish(StartJob("r2", {"no-such-trainer"})).exit_code, 127);
  EXPECT_NE(Read(dir_ + "/r2.err").find("command not found on"), std::string::npos) << Read(dir_ + "/r2.err");
}

// EOF on the wrapper's stdin (the ssh channel closed) stops the trainer's
// whole process group: nothing is left running.
TEST_F(ScriptsTest, ClosedChannelStopsTheTrainersGroup) {
  ASSERT_TRUE(Sh(scripts::Command(scripts::kSetup, {work_})).ok());
  std::string pidfile = dir_ + "/child.pid";
  Spawned job = StartJob("r3", {"sh", "-c", "sleep 300 & echo $! > " + pidfile + "; wait"});
  double deadline = NowSeconds() + 10;
  while (Read(pidfile).empty() && NowSeconds() < deadline) usleep(20000);
  pid_t child = std::stoi(Read(pidfile));
  EXPECT_TRUE(Alive(child));
  close(job.stdin_fd);
  exec::ExitInfo e = WaitExit(job.pid, 10);
  EXPECT_EQ(e.exit_code, 128 + SIGTERM);
  EXPECT_FALSE(Alive(child)) << "the trainer's child outlived the channel";
  EXPECT_EQ(Read(work_ + "/runs/r3.status"), "143\n");
}

TEST_F(ScriptsTest, SignalReachesTheGroup) {
  ASSERT_TRUE(Sh(scripts::Command(scripts::kSetup, {work_})).ok());
  Spawned job = StartJob("r4", {"sleep", "300"});
  CommandResult sig = Sh(scripts::Command(scripts::kSignal, {work_, "r4", "TERM"}));
  EXPECT_TRUE(sig.ok()) << sig.err;
  EXPECT_EQ(Finish(job).exit_code, 128 + SIGTERM);
  EXPECT_EQ(Read(work_ + "/runs/r4.status"), "143\n");
}

TEST(ShipTest, SafePathsAndTar) {
  EXPECT_TRUE(IsSafeRelativePath("a/b c.png"));
  EXPECT_FALSE(IsSafeRelativePath("/etc/passwd"));
  EXPECT_FALSE(IsSafeRelativePath("a/../../b"));
  EXPECT_FALSE(IsSafeRelativePath("a\nb"));
  EXPECT_FALSE(IsSafeRelativePath(" a"));
  EXPECT_FALSE(IsSafeRelativePath(""));
  std::string tar = UstarArchive({{"blobs/x", std::string(700, 'z')}, {"manifest", "m\n"}});
  EXPECT_EQ(tar.size() % 512, 0u);
  auto listed = RunCommand({"tar", "-tvf", "-"}, tar, 10);
  ASSERT_TRUE(listed.ok());
  EXPECT_TRUE(listed->ok()) << listed->err;
  EXPECT_NE(listed->out.find("700"), std::string::npos) << listed->out;
  EXPECT_NE(listed->out.find("manifest"), std::string::npos);
}

TEST(ProcessTest, RunCommandFeedsCapturesAndTimesOut) {
  auto r = RunCommand({"sh", "-c", "cat; echo err >&2; exit 3"}, "hello", 10);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->out, "hello");
  EXPECT_EQ(r->exit.exit_code, 3);
  EXPECT_EQ(r->Why(), "err");
  double t0 = NowSeconds();
  auto slow = RunCommand({"sh", "-c", "sleep 30"}, "", 0.3);
  ASSERT_TRUE(slow.ok());
  EXPECT_TRUE(slow->timed_out);
  EXPECT_LT(NowSeconds() - t0, 5);
  EXPECT_FALSE(RunCommand({"/no/such/program"}, "", 1).ok());
}

}  // namespace
}  // namespace orchard::remote
