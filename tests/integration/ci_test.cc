// CI jobs end to end: gates (--expect) on run and tune, rerun --verify from
// the recorded code snapshot (and with --code), JUnit and Markdown reports,
// archive and import between stores. Real `orchard` processes, real trainers
// (shell scripts whose metrics derive from their flags, seed and a data file
// of their code), real SQLite files.
#include <sqlite3.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "orchestrator/store/sqlite_run_store.h"
#include "tests/integration/test_util.h"

namespace fs = std::filesystem;

namespace orchard::testing {
namespace {

// Prints val_acc per step from --x, ORCHARD_SEED and the checksum of
// data.txt (part of its code snapshot), so a change to any of them changes
// the metrics; writes two artifacts, one in a sub-folder.
constexpr const char* kTrainer = R"SH(#!/bin/sh
x=1
for a in "$@"; do case "$a" in --x=*) x=${a#--x=};; esac; done
base=$(cksum < "$(dirname "$0")/data.txt" | cut -d' ' -f1)
touch "$(dirname "$0")/../ran-marker" 2>/dev/null
echo "training x=$x seed=$ORCHARD_SEED in $(pwd)"
for s in 1 2 3; do
  awk -v b="$base" -v s="$s" -v seed="$ORCHARD_SEED" -v x="$x" \
    'BEGIN { printf "@orchard {\"step\": %d, \"epoch\": %d, \"val_acc\": %.17g, \"loss\": %.17g}\n", s, s, (b % 1000) / 1000 * s / 3 + x / 100 + (seed % 1000) / 1e7, 1 / (s * x + seed % 7 + 1) }'
done
mkdir -p "$ORCHARD_RUN_DIR/sub/dir"
printf 'weights-%s-%s' "$x" "$ORCHARD_SEED" > "$ORCHARD_RUN_DIR/model.bin"
printf 'nested\000binary' > "$ORCHARD_RUN_DIR/sub/dir/w.bin"
)SH";

class CiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    fs::create_directories(proj() + "/sub");
    WriteScript(proj() + "/train.sh", kTrainer);
    std::ofstream(proj() + "/data.txt") << "hello data\n";
  }

  std::string proj() const { return dir_ / "proj"; }
  std::string home() const { return dir_ / "home"; }
  std::string db(const std::string& h) const { return h + "/orchard.db"; }

  // orchard run in proj with x and seed.
  ProcResult Run(std::vector<std::string> extra, int x = 1, int seed = 11,
                 const std::string& h = "") {
    std::vector<std::string> args = {"run", "-q", "--seed", std::to_string(seed)};
    args.insert(args.end(), extra.begin(), extra.end());
    args.push_back("x=" + std::to_string(x));
    args.insert(args.end(), {"--", "./train.sh"});
    return RunOrchard(h.empty() ? home() : h, args, proj());
  }

  std::string LastRunId(const std::string& h) {
    auto s = store::SqliteRunStore::Open(db(h));
    EXPECT_TRUE(s.ok());
    store::RunQuery q;
    q.limit = 1;
    auto runs = (*s)->ListRuns(q);
    EXPECT_TRUE(runs.ok() && !runs->empty());
    return runs.ok() && !runs->empty() ? runs->front().id : "";
  }

  int64_t RunCount(const std::string& h) {
    if (!fs::exists(db(h))) return 0;
    auto s = store::SqliteRunStore::Open(db(h));
    auto n = (*s)->CountRuns({});
    return n.ok() ? *n : -1;
  }

  static void Sql(const std::string& path, const std::string& sql) {
    sqlite3* raw = nullptr;
    ASSERT_EQ(sqlite3_open(path.c_str(), &raw), SQLITE_OK);
    char* err = nullptr;
    int rc = sqlite3_exec(raw, sql.c_str(), nullptr, nullptr, &err);
    EXPECT_EQ(rc, SQLITE_OK) << (err ? err : "") << " in " << sql;
    sqlite3_free(err);
    sqlite3_close(raw);
  }

  // `orchard --format json show ID` without the fields that are the store's own.
  nlohmann::json Shown(const std::string& h, const std::string& id) {
    auto r = RunOrchard(h, {"--format", "json", "show", id}, dir_.path());
    EXPECT_EQ(r.exit_code, 0) << r.err;
    auto j = nlohmann::json::parse(r.out, nullptr, false);
    EXPECT_FALSE(j.is_discarded()) << r.out;
    if (j.is_object()) {
      j.erase("seq");
      j.erase("run_dir");
      j.erase("duration");  // recomputed from started/finished, which are compared
    }
    return j;
  }

  TempDir dir_;
};

bool Contains(const std::string& text, const std::string& what) {
  return text.find(what) != std::string::npos;
}

// ---- gates ----------------------------------------------------------------

TEST_F(CiTest, RunGatePassesAndFailsWithActualValues) {
  auto pass = Run({"--expect", "val_acc >= 0.1", "--expect", "loss < 1 and status = completed"});
  EXPECT_EQ(pass.exit_code, 0) << pass.err;
  EXPECT_TRUE(Contains(pass.err, "gate passed: val_acc >= 0.1 (val_acc = ")) << pass.err;

  auto fail = Run({"--expect", "val_acc >= 0.1", "--expect", "val_acc > 0.99"});
  EXPECT_EQ(fail.exit_code, 1) << fail.err;
  std::string id = LastRunId(home());
  EXPECT_TRUE(Contains(fail.err, "gate FAILED: val_acc > 0.99 (run " + id + ": val_acc = 0."))
      << fail.err;
  EXPECT_TRUE(Contains(fail.err, "run " + id + " completed")) << "the run itself succeeded";
  EXPECT_EQ(RunCount(home()), 2);
}

TEST_F(CiTest, BadExpectationIsAUsageErrorBeforeAnyRunStarts) {
  auto r = Run({"--expect", "val_acc >= 0.1", "--expect", "val_acc >="});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_TRUE(Contains(r.err, "--expect 'val_acc >=': filter: at column")) << r.err;
  EXPECT_FALSE(fs::exists(dir_ / "ran-marker")) << "the trainer must not have started";
  EXPECT_EQ(RunCount(home()), 0);
  auto typo = Run({"--expect", "metrcs.val_acc > 0"});
  EXPECT_EQ(typo.exit_code, 2) << typo.err;
  EXPECT_FALSE(fs::exists(dir_ / "ran-marker"));
}

TEST_F(CiTest, AFailedRunKeepsItsOwnExitCodeAndGatesAreNotChecked) {
  WriteScript(proj() + "/crash.sh", "#!/bin/sh\necho '@orchard {\"val_acc\": 0.9}'\nexit 3\n");
  auto r = RunOrchard(home(), {"run", "-q", "--expect", "val_acc > 0.5", "--", "./crash.sh"},
                      proj());
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_TRUE(Contains(r.err, "gate not checked: val_acc > 0.5 (the run failed)")) << r.err;
}

TEST_F(CiTest, TuneGatesCheckTheBestTrial) {
  std::ofstream(proj() + "/tune.yaml") << "command: [./train.sh]\nsearch:\n  x: [1, 2, 3]\n"
                                          "objective: {metric: val_acc, goal: max}\n";
  auto bad = RunOrchard(home(), {"tune", "tune.yaml", "--expect", "val_acc >>= 1"}, proj());
  EXPECT_EQ(bad.exit_code, 2) << bad.err;
  EXPECT_EQ(RunCount(home()), 0) << "no trial may start";

  auto pass = RunOrchard(home(), {"tune", "tune.yaml", "--expect", "val_acc > 0.03 and x = 3"},
                         proj());
  EXPECT_EQ(pass.exit_code, 0) << pass.err;
  EXPECT_TRUE(Contains(pass.err, "gate passed: val_acc > 0.03 and x = 3 (val_acc = ")) << pass.err;
  auto fail = RunOrchard(home(), {"tune", "tune.yaml", "--new", "--expect", "val_acc > 5 and x = 3",
                                  "--junit", dir_ / "tune.xml", "--summary", dir_ / "tune.md"},
                         proj());
  EXPECT_EQ(fail.exit_code, 1) << fail.err;
  EXPECT_TRUE(Contains(fail.err, "gate FAILED: val_acc > 5 and x = 3 (run ")) << fail.err;
  EXPECT_TRUE(Contains(fail.err, "x = 3")) << "actual values name the flag too: " << fail.err;
  // One testcase per trial and one for the gate.
  auto xml = RunProcess({"python3", "-c",
                         "import xml.etree.ElementTree as E, sys\n"
                         "s = E.parse(sys.argv[1]).getroot().find('testsuite')\n"
                         "print(s.get('tests'), s.get('failures'), "
                         "sum(1 for c in s.iter('testcase') if '[best]' in c.get('name')))\n",
                         dir_ / "tune.xml"},
                        dir_.path());
  EXPECT_EQ(xml.exit_code, 0) << xml.err;
  EXPECT_EQ(xml.out, "4 1 1\n");
  EXPECT_TRUE(Contains(ReadFile(dir_ / "tune.md"), "| ❌ | val\\_acc &gt; 5 and x = 3 |"));
}

// ---- rerun ----------------------------------------------------------------

TEST_F(CiTest, RerunFromTheSnapshotVerifiesExactly) {
  // Run from a sub-folder of the snapshot root, with an absolute path to the
  // trainer: both are mapped onto the restored code.
  auto r = RunOrchard(home(), {"run", "-q", "--seed", "5", "--name", "orig", "--source", proj(),
                               "x=2", "--", proj() + "/train.sh"},
                      proj() + "/sub");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // The working tree changes afterwards: the rerun must not see it.
  std::ofstream(proj() + "/data.txt") << "edited after the run\n";

  auto v = RunOrchard(home(), {"rerun", "orig", "--verify", "-q", "--tag", "ci"}, dir_.path());
  EXPECT_EQ(v.exit_code, 0) << v.err;
  EXPECT_TRUE(Contains(v.err, "reproduces")) << v.err;
  EXPECT_TRUE(Contains(v.err, "2 metric(s), 6 point(s) compared")) << v.err;

  auto s = store::SqliteRunStore::Open(db(home()));
  auto orig = (*s)->GetRun(*(*s)->ResolveRunId("orig"));
  auto again = (*s)->GetRun(LastRunId(home()));
  ASSERT_TRUE(orig.ok() && again.ok());
  EXPECT_NE(again->id, orig->id);
  EXPECT_EQ(again->seed, 5);
  EXPECT_EQ(again->flags, orig->flags);
  EXPECT_EQ(again->snapshot_id, orig->snapshot_id) << "it ran exactly the recorded code";
  EXPECT_EQ(again->tags, (std::vector<std::string>{"ci", "rerun", "rerun-of:" + orig->id}));
  EXPECT_TRUE(Contains(again->cwd, "/sub")) << again->cwd;
  EXPECT_FALSE(Contains(again->cwd, proj())) << again->cwd;
  auto logs = RunOrchard(home(), {"show", again->id, "--logs"}, dir_.path());
  EXPECT_TRUE(Contains(logs.out, "training x=2 seed=5 in /")) << logs.out;
  EXPECT_FALSE(fs::exists(again->cwd)) << "the restored code is removed afterwards";
}

TEST_F(CiTest, RerunAfterTheStoredCodeWasTamperedReportsItAndFails) {
  ASSERT_EQ(Run({"--name", "orig"}).exit_code, 0);
  Sql(db(home()),
      "UPDATE blobs SET data = CAST('tampered' AS BLOB) WHERE sha256 IN "
      "(SELECT sha256 FROM snapshot_files WHERE path = 'data.txt')");
  auto v = RunOrchard(home(), {"rerun", "orig", "--verify", "-q"}, dir_.path());
  EXPECT_EQ(v.exit_code, 1) << v.err;
  EXPECT_TRUE(Contains(v.err, "the store's code blob was altered: data.txt")) << v.err;
  EXPECT_TRUE(Contains(v.err, "DIFFERS  metric val_acc step 1: recorded")) << v.err;
  EXPECT_TRUE(Contains(v.err, "does NOT reproduce")) << v.err;
  // The new run records the code it really ran, not the recorded snapshot.
  auto s = store::SqliteRunStore::Open(db(home()));
  auto orig = (*s)->GetRun(*(*s)->ResolveRunId("orig"));
  auto again = (*s)->GetRun(LastRunId(home()));
  EXPECT_NE(again->snapshot_id, orig->snapshot_id);
}

TEST_F(CiTest, RerunWithAnotherCodeTreeShowsTheDiff) {
  ASSERT_EQ(Run({"--name", "orig"}, 1, 3).exit_code, 0);
  std::string copy = dir_ / "copy";
  fs::copy(proj(), copy, fs::copy_options::recursive);
  auto same = RunOrchard(home(), {"rerun", "orig", "--verify", "-q", "--code", copy}, dir_.path());
  EXPECT_EQ(same.exit_code, 0) << same.err;

  std::ofstream(copy + "/data.txt") << "hello data\nand a change\n";
  auto v = RunOrchard(home(), {"rerun", "orig", "--verify", "-q", "--code", copy,
                               "--junit", dir_ / "rerun.xml"},
                      dir_.path());
  EXPECT_EQ(v.exit_code, 1) << v.err;
  EXPECT_TRUE(Contains(v.err, "info     code: data.txt changed (+1 -0)")) << v.err;
  EXPECT_TRUE(Contains(v.err, "data.txt | +1 -0")) << v.err;
  EXPECT_TRUE(Contains(v.out, "diff --git a/data.txt b/data.txt")) << v.out;
  EXPECT_TRUE(Contains(v.out, "+and a change")) << v.out;
  std::string xml = ReadFile(dir_ / "rerun.xml");
  EXPECT_TRUE(Contains(xml, "type=\"verification\"")) << xml;

  // A tolerance wide enough accepts the change: metrics decide, not code.
  auto tol = RunOrchard(home(), {"rerun", "orig", "--verify", "-q", "--code", copy,
                                 "--tolerance", "1"},
                        dir_.path());
  EXPECT_EQ(tol.exit_code, 0) << tol.err;
  EXPECT_TRUE(Contains(tol.err, "(relative 1)")) << tol.err;
}

TEST_F(CiTest, RerunOfARunWithoutSnapshotAsksForCode) {
  ASSERT_EQ(Run({"--name", "nosnap", "--no-snapshot"}).exit_code, 0);
  auto v = RunOrchard(home(), {"rerun", "nosnap", "--verify"}, dir_.path());
  EXPECT_EQ(v.exit_code, 3) << v.err;
  EXPECT_TRUE(Contains(v.err, "has no code snapshot")) << v.err;
  EXPECT_TRUE(Contains(v.err, "--code DIR")) << v.err;
}

// ---- reports --------------------------------------------------------------

TEST_F(CiTest, JUnitIsWellFormedWithAHostileRunName) {
  const std::string name = "<script>alert(\"x\")</script> & 'q' ]]>";
  auto r = Run({"--name", name, "--expect", "val_acc > 0.99", "--junit", dir_ / "j.xml",
                "--summary", dir_ / "s.md"});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  auto xml = RunProcess({"python3", "-c",
                         "import xml.etree.ElementTree as E, sys\n"
                         "s = E.parse(sys.argv[1]).getroot().find('testsuite')\n"
                         "cases = s.findall('testcase')\n"
                         "print(s.get('name'), s.get('tests'), s.get('failures'))\n"
                         "print(cases[0].get('name'))\n"
                         "print(cases[1].get('name'), '|', cases[1].find('failure').get('message'))\n",
                         dir_ / "j.xml"},
                        dir_.path());
  ASSERT_EQ(xml.exit_code, 0) << xml.err << ReadFile(dir_ / "j.xml");
  std::string id = LastRunId(home());
  EXPECT_TRUE(Contains(xml.out, "orchard run 2 1\n")) << xml.out;
  EXPECT_TRUE(Contains(xml.out, "run " + id + " (" + name + ")\n")) << xml.out;
  EXPECT_TRUE(Contains(xml.out, "expect val_acc > 0.99 | val_acc = 0.")) << xml.out;
  std::string md = ReadFile(dir_ / "s.md");
  EXPECT_FALSE(Contains(md, "<script>")) << md;
  EXPECT_TRUE(Contains(md, "&lt;script&gt;")) << md;
}

// ---- archive and import ---------------------------------------------------

class CiArchiveTest : public CiTest {
 protected:
  void SetUp() override {
    CiTest::SetUp();
    std::ofstream(proj() + "/tune.yaml") << "command: [./train.sh]\nsearch:\n  x: [1, 2]\n"
                                            "objective: {metric: val_acc, goal: max}\n";
    ASSERT_EQ(RunOrchard(home(), {"tune", "tune.yaml"}, proj()).exit_code, 0);
    ASSERT_EQ(Run({"--name", "solo", "--tag", "keep", "--note", "a note"}, 4).exit_code, 0);
    ASSERT_EQ(Run({"--name", "other"}, 5).exit_code, 0);
    auto tunes = RunOrchard(home(), {"--format", "csv", "tunes"}, proj());
    tune_ = tunes.out.substr(tunes.out.find('\n') + 1, tunes.out.find(',', tunes.out.find('\n')) -
                                                           tunes.out.find('\n') - 1);
    auto a = RunOrchard(home(), {"archive", "solo", "--tune", tune_, "-o", archive()}, proj());
    ASSERT_EQ(a.exit_code, 0) << a.err;
  }
  std::string archive() const { return dir_ / "results.orchard"; }
  std::string target() const { return dir_ / "target"; }

  std::vector<std::string> Ids(const std::string& h) {
    auto r = RunOrchard(h, {"--format", "csv", "runs", "-n", "0", "-c", "id", "--sort", "id"},
                        dir_.path());
    std::vector<std::string> ids;
    std::istringstream in(r.out);
    std::string line;
    std::getline(in, line);
    while (std::getline(in, line)) ids.push_back(line);
    return ids;
  }

  std::string tune_;
};

TEST_F(CiArchiveTest, ImportRoundTripsEveryRecordAndArtifact) {
  auto imp = RunOrchard(target(), {"import", archive()}, dir_.path());
  ASSERT_EQ(imp.exit_code, 0) << imp.err;
  EXPECT_TRUE(Contains(imp.err, "3 run(s) added")) << imp.err;
  auto ids = Ids(target());
  ASSERT_EQ(ids.size(), 3u) << "two trials and solo, not other";
  for (const auto& id : ids) {
    EXPECT_EQ(Shown(target(), id), Shown(home(), id)) << id;
    for (const char* what : {"--logs"}) {
      EXPECT_EQ(RunOrchard(target(), {"show", id, what}, dir_.path()).out,
                RunOrchard(home(), {"show", id, what}, dir_.path()).out);
    }
    EXPECT_EQ(RunOrchard(target(), {"--format", "csv", "show", id, "--metrics", "val_acc"},
                         dir_.path()).out,
              RunOrchard(home(), {"--format", "csv", "show", id, "--metrics", "val_acc"},
                         dir_.path()).out);
    for (const char* f : {"model.bin", "sub/dir/w.bin"}) {
      std::string a = ReadFile(home() + "/runs/" + id + "/" + f);
      EXPECT_FALSE(a.empty());
      EXPECT_EQ(ReadFile(target() + "/runs/" + id + "/" + f), a) << id << " " << f;
    }
  }
  EXPECT_EQ(RunOrchard(target(), {"--format", "json", "tunes"}, dir_.path()).out,
            RunOrchard(home(), {"--format", "json", "tunes"}, dir_.path()).out);
  EXPECT_EQ(RunOrchard(target(), {"diff", ids[0], ids[1]}, dir_.path()).out,
            RunOrchard(home(), {"diff", ids[0], ids[1]}, dir_.path()).out);
  // The imported code can be re-run and verified in the target store.
  auto v = RunOrchard(target(), {"rerun", "solo", "--verify", "-q"}, dir_.path());
  EXPECT_EQ(v.exit_code, 0) << v.err;

  // Twice: nothing added, nothing duplicated.
  auto again = RunOrchard(target(), {"import", archive()}, dir_.path());
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_TRUE(Contains(again.err, "0 run(s) added, 3 already present")) << again.err;
  EXPECT_EQ(RunCount(target()), 4);  // three imported and the verifying rerun
}

TEST_F(CiArchiveTest, ConflictingRunIsRefusedAndNothingIsImported) {
  ASSERT_EQ(RunOrchard(target(), {"import", archive()}, dir_.path()).exit_code, 0);
  std::string solo = Ids(target())[0];
  for (const auto& id : Ids(target())) {
    if (Shown(target(), id)["name"] == "solo") solo = id;
  }
  Sql(db(target()), "UPDATE metrics SET value = value + 1 WHERE run_id = '" + solo + "'");
  // A second archive with the changed run's original and a new run.
  std::string second = dir_ / "second.orchard";
  ASSERT_EQ(RunOrchard(home(), {"archive", "solo", "other", "-o", second}, proj()).exit_code, 0);
  auto r = RunOrchard(target(), {"import", second}, dir_.path());
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_TRUE(Contains(r.err, "run " + solo + " is already in this store with different content"))
      << r.err;
  EXPECT_EQ(RunCount(target()), 3) << "'other' must not have been imported either";
}

TEST_F(CiArchiveTest, HostileArtifactPathIsRefused) {
  std::string evil = dir_ / "evil.orchard";
  fs::copy_file(archive(), evil);
  Sql(evil, "UPDATE artifacts SET path = '../../escaped.bin' WHERE path = 'model.bin'; "
            "UPDATE archive_files SET path = '../../escaped.bin' WHERE path = 'model.bin'");
  auto r = RunOrchard(target(), {"import", evil}, dir_.path());
  EXPECT_EQ(r.exit_code, 4) << r.err;
  EXPECT_TRUE(Contains(r.err, "artifact path '../../escaped.bin'")) << r.err;
  EXPECT_TRUE(Contains(r.err, "would leave the run folder")) << r.err;
  EXPECT_FALSE(fs::exists(dir_ / "escaped.bin"));
  EXPECT_FALSE(fs::exists(target() + "/escaped.bin"));
  EXPECT_EQ(RunCount(target()), 0);

  Sql(evil, "UPDATE artifacts SET path = '/tmp/abs.bin' WHERE path = '../../escaped.bin'; "
            "UPDATE archive_files SET path = '/tmp/abs.bin' WHERE path = '../../escaped.bin'");
  r = RunOrchard(target(), {"import", evil}, dir_.path());
  EXPECT_EQ(r.exit_code, 4) << r.err;
  EXPECT_TRUE(Contains(r.err, "'/tmp/abs.bin'")) << r.err;
}

TEST_F(CiArchiveTest, TamperedArtifactBytesAreRefused) {
  std::string bad = dir_ / "bad.orchard";
  fs::copy_file(archive(), bad);
  Sql(bad, "UPDATE archive_files SET data = CAST('forged' AS BLOB) WHERE path = 'model.bin'");
  auto r = RunOrchard(target(), {"import", bad}, dir_.path());
  EXPECT_EQ(r.exit_code, 4) << r.err;
  EXPECT_TRUE(Contains(r.err, "does not match its recorded size and sha256")) << r.err;
  EXPECT_EQ(RunCount(target()), 0);
  EXPECT_TRUE(!fs::exists(target() + "/runs") || fs::is_empty(target() + "/runs"));
}

TEST_F(CiArchiveTest, TruncatedArchiveIsAClearErrorAndLosesNothing) {
  ASSERT_EQ(Run({"--name", "mine"}, 7, 1, target()).exit_code, 0);
  std::string full = ReadFile(archive());
  for (size_t cut : {size_t{0}, size_t{10}, full.size() / 2, full.size() - 1000}) {
    std::string part = dir_ / "part.orchard";
    std::ofstream(part, std::ios::binary | std::ios::trunc) << full.substr(0, cut);
    auto r = RunOrchard(target(), {"import", part}, dir_.path());
    EXPECT_EQ(r.exit_code, 4) << cut << ": " << r.err;
    EXPECT_TRUE(Contains(r.err, "damaged or truncated") || Contains(r.err, "not an Orchard archive"))
        << cut << ": " << r.err;
    EXPECT_EQ(RunCount(target()), 1) << cut;
  }
  EXPECT_EQ(Shown(target(), "mine")["status"], "completed");
}

}  // namespace
}  // namespace orchard::testing
