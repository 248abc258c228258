#pragma once

#include <sys/types.h>

#include <map>
#include <string>
#include <vector>

#include "meshd/core/error.hpp"

namespace meshd::core {

/// What to run. `env` is the child's whole environment.
struct SpawnRequest {
  std::vector<std::string> argv;
  std::string cwd;  // empty: meshd's own
  std::map<std::string, std::string> env;
  bool capture_stdout = true;       // else /dev/null
  bool capture_stderr = true;       // else /dev/null
  bool stderr_to_stdout = false;    // one pipe for both (exec checks)
  std::size_t pipe_size = 1 << 20;  // kernel pipe buffer asked for
};

/// A started child: its pid (also its process group id) and the parent's
/// non-blocking, close-on-exec read ends of its output pipes (-1 if none).
struct SpawnedProcess {
  pid_t pid = -1;
  int stdout_fd = -1;
  int stderr_fd = -1;
};

/// Forks and execs `request.argv[0]` (searched in PATH when it has no '/').
/// The child gets its own process group, dies with meshd (PR_SET_PDEATHSIG),
/// and has default signal dispositions and an empty signal mask. A failed
/// exec (no such file, not executable) is reported here as an Error, not as
/// a child that exits 127.
Result<SpawnedProcess> spawn_process(const SpawnRequest& request);

/// Sends `signal` to the whole process group of `pid`. False if none is left.
bool signal_group(pid_t pid, int signal);

/// "exit code 3", "killed by SIGKILL", from a waitpid status.
std::string describe_wait_status(int status);

/// meshd's environment as a map, for merging a service's env over it.
std::map<std::string, std::string> current_environment();

/// Parses a signal name ("SIGTERM", "TERM") or number; -1 when unknown.
int signal_from_name(const std::string& name);
std::string signal_name(int signal);

}  // namespace meshd::core
