#pragma once
// Private to the daemon module: not part of meshd's public headers (include/meshd/).

#include <memory>

#include "cli.hpp"
#include "meshd/config/types.hpp"

namespace meshd::daemon {

/// The composition root: the only place that wires the modules together.
/// Loads the config, opens the database, starts the services and the HTTP
/// surface, and runs the control loop until SIGTERM/SIGINT.
class Daemon {
 public:
  explicit Daemon(RunOptions options);
  ~Daemon();

  /// Runs until a graceful shutdown finishes; returns the exit code.
  /// Throws config::ConfigError or std::runtime_error for problems found
  /// while starting (bad file, port in use, unusable data_dir); main()
  /// prints them as one line.
  int run();

 private:
  struct State;
  RunOptions options_;
  std::unique_ptr<State> state_;
};

/// Loads the file named by `options` and applies the command-line
/// overrides and the --service selection. Throws like Daemon::run().
config::Config load_effective_config(const RunOptions& options);
/// The same from text (a reload's body or a stored version).
config::Config load_config_text(const std::string& text, const std::string& source_name,
                                const RunOptions& options);
/// The command-line overrides and the --service selection applied to a
/// loaded config (also on every reload).
config::Config apply_run_flags(config::Config cfg, const RunOptions& options);

}  // namespace meshd::daemon
