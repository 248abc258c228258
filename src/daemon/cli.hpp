#pragma once
// Private to the daemon module: not part of meshd's public headers (include/meshd/).

#include <chrono>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace meshd::daemon {

/// `meshd run`: flags beat the file's `mesh:` block.
struct RunOptions {
  std::string config_path;
  std::string environment;  // --env; --dev sets "dev"
  /// Set by --dev without --env: the "dev" overlay applies when the file
  /// has one, and a file without it still loads.
  bool environment_optional = false;
  bool dev = false;
  std::vector<std::string> services;   // --service, repeatable
  std::optional<std::string> listen;   // --listen HOST:PORT
  std::optional<std::string> gateway;  // --gateway HOST:PORT ("" or "off" disables)
  std::optional<int> gateway_threads;  // --gateway-threads N (mesh.gateway_threads)
  std::optional<std::string> data_dir;
  std::optional<std::string> log_level;
  std::optional<std::string> log_format;
  /// --node NAME: this node's name in the cluster (mesh.node).
  std::optional<std::string> node;
  /// --etcd URL[,URL...]: the etcd endpoints (mesh.cluster.etcd); they
  /// replace the file's list.
  std::optional<std::vector<std::string>> etcd;
  /// --ws-idle-timeout: a WebSocket client silent this long is dropped
  /// (pinged at half of it); 60 s without the flag (docs/websocket.md).
  std::optional<std::chrono::milliseconds> ws_idle_timeout;
};

/// `meshd validate`.
struct ValidateOptions {
  std::string config_path;
  std::string environment;
};

struct VersionCommand {};
struct HelpCommand {
  std::string text;
};
/// A usage error: one line for stderr, exit code 2.
struct UsageError {
  std::string message;
};

using Command = std::variant<RunOptions, ValidateOptions, VersionCommand, HelpCommand, UsageError>;

/// Parses meshd's command line (SPEC section 1). Accepts `--flag value` and
/// `--flag=value`.
Command parse_command_line(const std::vector<std::string>& args);

/// The usage text.
std::string usage();

}  // namespace meshd::daemon
