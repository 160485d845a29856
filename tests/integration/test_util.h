// Helpers for end-to-end tests: temporary folders, scripts, and running the
// real `orchard` binary as a child process with a bounded wait.
#pragma once

#include <sys/types.h>

#include <functional>
#include <string>
#include <vector>

namespace orchard::testing {

// A fresh folder under $TMPDIR, removed with everything in it at scope exit.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::string& path() const { return path_; }
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// Writes an executable file (a script with its #! line).
std::string WriteScript(const std::string& path, const std::string& content);
std::string ReadFile(const std::string& path);

struct ProcResult {
  int exit_code = -1;  // 128+N when killed by signal N; -1 when it timed out
  std::string out, err;
};

// Runs argv in cwd to completion (killed after timeout_s) and captures output.
ProcResult RunProcess(const std::vector<std::string>& argv, const std::string& cwd,
                      double timeout_s = 120);

// `orchard --home HOME args...` in cwd.
ProcResult RunOrchard(const std::string& home, const std::vector<std::string>& args,
                      const std::string& cwd, double timeout_s = 120);

// Starts argv in the background with stdout/stderr to files; returns its pid.
pid_t Spawn(const std::vector<std::string>& argv, const std::string& cwd,
            const std::string& out_path, const std::string& err_path);
// Waits for pid (bounded); returns the exit code as RunProcess does.
int WaitFor(pid_t pid, double timeout_s);

// Polls cond every 20 ms until it holds or timeout_s passes.
bool WaitUntil(double timeout_s, const std::function<bool()>& cond);

}  // namespace orchard::testing
