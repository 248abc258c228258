// ws_echo_bench: measures WebSocket echo latency, for the gateway's relay
// benchmark (scripts/bench/ws_relay_bench.py, docs/benchmarks.md).
//
//   ws_echo_bench server [--port P] [--max-seconds S]
//       echoes every message; prints "port N" once listening; stops on
//       SIGTERM or SIGINT, or after S seconds (default 3600).
//   ws_echo_bench client --url ws://127.0.0.1:P/path [--connections 10]
//       [--rate 10000] [--size 64] [--seconds 10] [--drain 2] [--pid PID]...
//       sends `rate` messages a second in total, open loop, and prints one
//       JSON line: counts, latency percentiles in microseconds (from each
//       message's due time), and the CPU seconds each --pid used meanwhile.
#include <unistd.h>

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <charconv>
#include <cmath>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "echo_server.hpp"
#include "paced_client.hpp"
#include "proc_cpu.hpp"

namespace {

using meshd::bench::ClientOptions;
using meshd::bench::ClientResult;

constexpr const char* kUsage =
    "usage: ws_echo_bench server [--port P] [--max-seconds S]\n"
    "       ws_echo_bench client --url ws://HOST:PORT/PATH [--connections N] [--rate R]\n"
    "                            [--size BYTES] [--seconds S] [--drain S] [--pid PID]...\n";

// "--name value" pairs after the mode; a repeated name keeps every value.
std::multimap<std::string, std::string> parse_flags(int argc, char** argv) {
  std::multimap<std::string, std::string> flags;
  for (int i = 2; i < argc; i += 2) {
    std::string name = argv[i];
    if (name.rfind("--", 0) != 0) throw std::invalid_argument("expected a --flag, got " + name);
    if (i + 1 >= argc) throw std::invalid_argument(name + " needs a value");
    flags.emplace(name.substr(2), argv[i + 1]);
  }
  return flags;
}

std::string plain(double v) {
  std::ostringstream out;
  out << v;
  return out.str();
}

double number(const std::multimap<std::string, std::string>& flags, const std::string& name,
              double fallback, double min, double max) {
  auto it = flags.find(name);
  if (it == flags.end()) return fallback;
  double value = 0;
  auto [end, ec] = std::from_chars(it->second.data(), it->second.data() + it->second.size(), value);
  if (ec != std::errc() || end != it->second.data() + it->second.size() || !(value >= min) ||
      !(value <= max))
    throw std::invalid_argument("--" + name + " must be a number from " + plain(min) + " to " +
                                plain(max) + ", got " + it->second);
  return value;
}

void check_known(const std::multimap<std::string, std::string>& flags,
                 const std::vector<std::string>& known) {
  for (auto& [name, value] : flags)
    if (std::find(known.begin(), known.end(), name) == known.end())
      throw std::invalid_argument("unknown flag --" + name);
}

int run_server(const std::multimap<std::string, std::string>& flags) {
  check_known(flags, {"port", "max-seconds"});
  auto port = static_cast<std::uint16_t>(number(flags, "port", 0, 0, 65535));
  double max_seconds = number(flags, "max-seconds", 3600, 1, 86400);
  boost::asio::io_context io(1);
  meshd::bench::EchoServer server(io, port);
  boost::asio::signal_set signals(io, SIGINT, SIGTERM);
  boost::asio::steady_timer limit(io, std::chrono::seconds(std::llround(max_seconds)));
  signals.async_wait([&](boost::system::error_code, int) { io.stop(); });
  limit.async_wait([&](boost::system::error_code ec) {
    if (!ec) io.stop();
  });
  std::cout << "port " << server.port() << std::endl;
  io.run();
  return 0;
}

// "ws://host:port/path" into the options; only ws:// to an IP address.
void parse_url(const std::string& url, ClientOptions& o) {
  const std::string scheme = "ws://";
  if (url.rfind(scheme, 0) != 0) throw std::invalid_argument("--url must start with ws://");
  auto rest = url.substr(scheme.size());
  auto slash = rest.find('/');
  auto authority = rest.substr(0, slash);
  o.path = slash == std::string::npos ? "/" : rest.substr(slash);
  auto colon = authority.rfind(':');
  if (colon == std::string::npos) throw std::invalid_argument("--url needs a port: " + url);
  o.host = authority.substr(0, colon);
  std::multimap<std::string, std::string> port{{"url port", authority.substr(colon + 1)}};
  o.port = static_cast<std::uint16_t>(number(port, "url port", 0, 1, 65535));
}

// Nearest-rank percentile of sorted values.
double percentile(const std::vector<double>& sorted, double p) {
  if (sorted.empty()) return 0;
  auto rank = static_cast<std::size_t>(std::ceil(p / 100.0 * static_cast<double>(sorted.size())));
  return sorted[std::clamp<std::size_t>(rank, 1, sorted.size()) - 1];
}

double round1(double v) {
  return std::round(v * 10) / 10;
}

int run_client(const std::multimap<std::string, std::string>& flags) {
  check_known(flags, {"url", "connections", "rate", "size", "seconds", "drain", "pid"});
  ClientOptions o;
  auto url = flags.find("url");
  if (url == flags.end()) throw std::invalid_argument("client needs --url");
  parse_url(url->second, o);
  o.connections = static_cast<int>(number(flags, "connections", 10, 1, 1000));
  o.rate = number(flags, "rate", 10000, 1, 1e6);
  o.size = static_cast<std::size_t>(number(flags, "size", 64, 16, 1 << 20));
  o.seconds = number(flags, "seconds", 10, 0.1, 600);
  o.drain_seconds = number(flags, "drain", 2, 0.1, 60);
  auto [first, last] = flags.equal_range("pid");
  for (auto it = first; it != last; ++it) {
    std::multimap<std::string, std::string> one{{"pid", it->second}};
    o.cpu_pids.push_back(static_cast<int>(number(one, "pid", 0, 1, 1 << 30)));
  }
  o.cpu_pids.push_back(getpid());

  ClientResult r = meshd::bench::run_client(o);
  if (!r.error.empty()) {
    std::cerr << "ws_echo_bench: " << r.error << "\n";
    return 1;
  }
  std::sort(r.latency_us.begin(), r.latency_us.end());
  auto scheduled = static_cast<std::uint64_t>(std::llround(o.rate * o.seconds));
  nlohmann::json cpu = nlohmann::json::object();
  for (std::size_t i = 0; i + 1 < o.cpu_pids.size(); ++i)
    cpu[std::to_string(o.cpu_pids[i])] = std::round(r.cpu_s[i] * 100) / 100;
  nlohmann::json out = {
      {"url", url->second},
      {"connections", o.connections},
      {"rate", o.rate},
      {"size", o.size},
      {"seconds", o.seconds},
      {"scheduled", scheduled},
      {"sent", r.sent},
      {"received", r.received},
      {"lost", scheduled - std::min(scheduled, r.received)},
      {"corrupt", r.corrupt},
      {"achieved_rate", r.elapsed_s > 0 ? std::round(double(r.received) / r.elapsed_s) : 0},
      {"p50_us", round1(percentile(r.latency_us, 50))},
      {"p90_us", round1(percentile(r.latency_us, 90))},
      {"p99_us", round1(percentile(r.latency_us, 99))},
      {"p999_us", round1(percentile(r.latency_us, 99.9))},
      {"max_us", round1(r.latency_us.empty() ? 0 : r.latency_us.back())},
      {"max_at_s", std::round(r.worst_at_s * 1000) / 1000},
      {"over_1ms",
       r.latency_us.end() - std::upper_bound(r.latency_us.begin(), r.latency_us.end(), 1000.0)},
      {"cpu_s", cpu},
      {"client_cpu_s", std::round(r.cpu_s.back() * 100) / 100},
  };
  if (!r.first_failure.empty()) out["failure"] = r.first_failure;
  std::cout << out.dump() << std::endl;
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    std::string mode = argc > 1 ? argv[1] : "";
    if (mode == "server") return run_server(parse_flags(argc, argv));
    if (mode == "client") return run_client(parse_flags(argc, argv));
    std::cerr << kUsage;
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "ws_echo_bench: " << e.what() << "\n" << kUsage;
    return 2;
  }
}
