#include "cli.hpp"

#include <algorithm>
#include <charconv>

#include "meshd/config/values.hpp"

namespace meshd::daemon {

std::string usage() {
  return "usage:\n"
         "  meshd run      -c FILE [--env NAME] [--dev] [--service NAME]... [--listen HOST:PORT]\n"
         "                 [--gateway HOST:PORT] [--gateway-threads N] [--data-dir DIR]\n"
         "                 [--log-level LEVEL] [--log-format text|json]\n"
         "                 [--ws-idle-timeout DURATION] [--node NAME] [--etcd URL[,URL...]]\n"
         "  meshd validate -c FILE [--env NAME]\n"
         "  meshd version\n";
}

Command parse_command_line(const std::vector<std::string>& args) {
  if (args.empty()) return UsageError{"no command given (run, validate or version)"};
  const std::string& command = args[0];
  if (command == "version" || command == "--version") {
    if (args.size() > 1) return UsageError{"'version' takes no arguments"};
    return VersionCommand{};
  }
  if (command == "help" || command == "--help" || command == "-h") return HelpCommand{usage()};
  if (command != "run" && command != "validate")
    return UsageError{"unknown command '" + command + "' (expected run, validate or version)"};

  bool run = command == "run";
  RunOptions opts;
  for (std::size_t i = 1; i < args.size(); ++i) {
    std::string flag = args[i];
    std::optional<std::string> inline_value;
    if (flag.rfind("--", 0) == 0) {
      auto eq = flag.find('=');
      if (eq != std::string::npos) {
        inline_value = flag.substr(eq + 1);
        flag = flag.substr(0, eq);
      }
    }
    auto value = [&](std::string& out) -> bool {
      if (inline_value) {
        out = *inline_value;
        return true;
      }
      if (i + 1 >= args.size()) return false;
      out = args[++i];
      return true;
    };
    std::string v;
    auto needs = [&](const std::string& what) { return UsageError{flag + " needs " + what}; };
    if (flag == "-c" || flag == "--config") {
      if (!value(v)) return needs("a file");
      opts.config_path = v;
    } else if (flag == "--env") {
      if (!value(v) || v.empty()) return needs("an environment name");
      opts.environment = v;
    } else if (flag == "-h" || flag == "--help") {
      return HelpCommand{usage()};
    } else if (!run) {
      return UsageError{"unknown option '" + flag + "' for validate"};
    } else if (flag == "--dev") {
      if (inline_value) return UsageError{"--dev takes no value"};
      opts.dev = true;
    } else if (flag == "--service") {
      if (!value(v) || v.empty()) return needs("a service name");
      opts.services.push_back(v);
    } else if (flag == "--listen") {
      if (!value(v)) return needs("HOST:PORT");
      opts.listen = v;
    } else if (flag == "--gateway") {
      if (!value(v)) return needs("HOST:PORT (or 'off')");
      opts.gateway = v;
    } else if (flag == "--gateway-threads") {
      int n = 0;
      if (!value(v)) return needs("a number of threads, 1..64");
      auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
      if (ec != std::errc() || end != v.data() + v.size() || n < 1 || n > 64)
        return UsageError{"--gateway-threads: '" + v + "' is not a number of threads, 1..64"};
      opts.gateway_threads = n;
    } else if (flag == "--data-dir") {
      if (!value(v) || v.empty()) return needs("a directory");
      opts.data_dir = v;
    } else if (flag == "--log-level") {
      if (!value(v)) return needs("a level");
      opts.log_level = v;
    } else if (flag == "--log-format") {
      if (!value(v)) return needs("text or json");
      if (v != "text" && v != "json")
        return UsageError{"--log-format must be text or json, not '" + v + "'"};
      opts.log_format = v;
    } else if (flag == "--node") {
      if (!value(v) || v.empty()) return needs("a node name");
      opts.node = v;
    } else if (flag == "--etcd") {
      if (!value(v) || v.empty()) return needs("etcd URLs (http://host:port, comma-separated)");
      std::vector<std::string> urls;
      for (std::size_t from = 0; from <= v.size();) {
        auto comma = std::min(v.find(',', from), v.size());
        urls.push_back(v.substr(from, comma - from));
        from = comma + 1;
      }
      opts.etcd = std::move(urls);
    } else if (flag == "--ws-idle-timeout") {
      if (!value(v)) return needs("a duration");
      auto d = config::parse_duration(v);
      if (!d || *d < std::chrono::milliseconds(200) || *d > std::chrono::hours(24))
        return UsageError{"--ws-idle-timeout must be a duration from 200ms to 24h, not '" + v +
                          "'"};
      opts.ws_idle_timeout = *d;
    } else {
      return UsageError{"unknown option '" + flag + "' for " + command};
    }
  }
  if (opts.config_path.empty()) return UsageError{command + " needs -c FILE"};
  if (opts.dev && opts.environment.empty()) {
    opts.environment = "dev";
    opts.environment_optional = true;
  }
  if (opts.dev && !opts.log_level) opts.log_level = "debug";
  if (!run) return ValidateOptions{opts.config_path, opts.environment};
  return opts;
}

}  // namespace meshd::daemon
