#include "options.hpp"

#include <charconv>
#include <cmath>
#include <cstdlib>
#include <functional>
#include <iostream>
#include <map>
#include <string_view>

namespace meshd::demo {
namespace {

constexpr const char* usage_text = R"(usage: meshd-demo-service --port N [options]
A small HTTP service for meshd's demo and tests. Durations: 250ms, 2s, 1.5m.
  --port N                  port to listen on (default $PORT)
  --host ADDR               address to listen on (default 127.0.0.1)
  --name NAME               instance name (default $MESHD_INSTANCE, else demo-<port>)
  --startup-delay DUR       wait before listening
  --notify                  send READY=1 to $NOTIFY_SOCKET once listening
  --latency DUR             delay every response except /health
  --error-rate P            answer that share (0..1) of non-health requests with 500
  --crash-after DUR         exit with code 3 after DUR
  --crash-after-requests N  exit with code 3 after the Nth request
  --exit-after DUR          exit with --exit-code after DUR (a one-shot job;
                            --port is then optional)
  --exit-code N             code for --exit-after (default 0)
  --ignore-sigterm          ignore SIGTERM (for SIGKILL escalation tests)
  --spawn-child             fork a grandchild in the same process group
  --log-every DUR           print a numbered line every DUR (every other one
                            also to stderr)
  --flood-stdout            write lines to stdout as fast as possible
  --unhealthy               start with /health answering 503
  --quiet                   no per-request log lines
  --help                    this text
)";

std::uint64_t parse_unsigned(const std::string& option, const std::string& text,
                             std::uint64_t max) {
  std::uint64_t value = 0;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (text.empty() || ec != std::errc() || ptr != end || value > max) {
    throw UsageError(option + ": expected a whole number up to " + std::to_string(max) + ", got '" +
                     text + "'");
  }
  return value;
}

double parse_share(const std::string& option, const std::string& text) {
  double value = 0;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (text.empty() || ec != std::errc() || ptr != end || !(value >= 0 && value <= 1)) {
    throw UsageError(option + ": expected a number from 0 to 1, got '" + text + "'");
  }
  return value;
}

}  // namespace

Millis parse_duration(const std::string& option, const std::string& text) {
  const auto fail = [&]() -> UsageError {
    return UsageError(option + ": expected a duration like 250ms or 2s, got '" + text + "'");
  };
  if (text == "0") return Millis{0};
  std::string_view number(text);
  double unit_ms = 0;
  std::size_t suffix = 1;
  if (number.ends_with("ms")) {
    unit_ms = 1;
    suffix = 2;
  } else if (number.ends_with("s")) {
    unit_ms = 1000;
  } else if (number.ends_with("m")) {
    unit_ms = 60'000;
  } else {
    throw fail();
  }
  number.remove_suffix(suffix);
  double value = 0;
  auto [ptr, ec] = std::from_chars(number.data(), number.data() + number.size(), value);
  if (number.empty() || ec != std::errc() || ptr != number.data() + number.size() ||
      !(value >= 0) || value * unit_ms > 1e12) {
    throw fail();
  }
  return Millis{static_cast<Millis::rep>(std::llround(value * unit_ms))};
}

Options parse_options(int argc, char** argv) {
  Options o;
  std::optional<std::string> name;
  using Setter = std::function<void(const std::string& option, const std::string& value)>;
  const std::map<std::string, Setter, std::less<>> with_value = {
      {"--port",
       [&](auto& opt, auto& v) { o.port = static_cast<int>(parse_unsigned(opt, v, 65535)); }},
      {"--host", [&](auto&, auto& v) { o.host = v; }},
      {"--name", [&](auto&, auto& v) { name = v; }},
      {"--startup-delay", [&](auto& opt, auto& v) { o.startup_delay = parse_duration(opt, v); }},
      {"--latency", [&](auto& opt, auto& v) { o.latency = parse_duration(opt, v); }},
      {"--error-rate", [&](auto& opt, auto& v) { o.error_rate = parse_share(opt, v); }},
      {"--crash-after", [&](auto& opt, auto& v) { o.crash_after = parse_duration(opt, v); }},
      {"--crash-after-requests",
       [&](auto& opt, auto& v) { o.crash_after_requests = parse_unsigned(opt, v, UINT64_MAX); }},
      {"--exit-after", [&](auto& opt, auto& v) { o.exit_after = parse_duration(opt, v); }},
      {"--exit-code",
       [&](auto& opt, auto& v) { o.exit_code = static_cast<int>(parse_unsigned(opt, v, 255)); }},
      {"--log-every", [&](auto& opt, auto& v) { o.log_every = parse_duration(opt, v); }},
  };
  const std::map<std::string, bool*, std::less<>> flags = {
      {"--notify", &o.notify},           {"--ignore-sigterm", &o.ignore_sigterm},
      {"--spawn-child", &o.spawn_child}, {"--flood-stdout", &o.flood_stdout},
      {"--unhealthy", &o.unhealthy},     {"--quiet", &o.quiet},
  };

  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      std::cout << usage_text << std::flush;
      throw HelpShown{};
    }
    std::optional<std::string> value;
    if (const auto eq = arg.find('='); arg.starts_with("--") && eq != std::string::npos) {
      value = arg.substr(eq + 1);
      arg.resize(eq);
    }
    if (const auto flag = flags.find(arg); flag != flags.end()) {
      if (value) throw UsageError(arg + " takes no value");
      *flag->second = true;
    } else if (const auto setter = with_value.find(arg); setter != with_value.end()) {
      if (!value) {
        if (i + 1 >= argc) throw UsageError(arg + " needs a value");
        value = argv[++i];
      }
      setter->second(arg, *value);
    } else {
      throw UsageError("unknown option '" + arg + "' (see --help)");
    }
  }

  if (!o.port) {
    if (const char* env = std::getenv("PORT"); env && *env) {
      o.port = static_cast<int>(parse_unsigned("$PORT", env, 65535));
    }
  }
  // A one-shot job (--exit-after) need not serve anything.
  if (!o.port && !o.exit_after) throw UsageError("--port is required (or set $PORT)");
  if (name) {
    o.name = *name;
  } else if (const char* env = std::getenv("MESHD_INSTANCE"); env && *env) {
    o.name = env;
  } else {
    o.name = o.port ? "demo-" + std::to_string(*o.port) : "demo-job";
  }
  if (o.name.empty()) throw UsageError("--name must not be empty");
  if (o.log_every && o.log_every->count() == 0) throw UsageError("--log-every must be more than 0");
  return o;
}

}  // namespace meshd::demo
