#pragma once

// The parsed, validated configuration: plain immutable values. Everything in
// here is produced by config::load_file() and read by the rest of meshd
// through a std::shared_ptr<const Config> snapshot; nothing mutates it.

#include <chrono>
#include <csignal>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace meshd::config {

using Duration = std::chrono::milliseconds;

/// host:port.
struct Endpoint {
  std::string host;
  std::uint16_t port = 0;
  std::string to_string() const { return host + ":" + std::to_string(port); }
  bool operator==(const Endpoint&) const = default;
};

enum class RestartPolicy { always, on_failure, never };

struct Backoff {
  Duration initial{500};
  Duration max{30000};
};

struct RestartSpec {
  RestartPolicy policy = RestartPolicy::on_failure;
  Backoff backoff;
  int max_restarts = 10;  // within `window`, then the instance is `failed`
  Duration window{5 * 60 * 1000};
  // Extension: the backoff delay resets to `initial` once an instance has run
  // this long without exiting.
  Duration reset_after{60 * 1000};
};

struct ShutdownSpec {
  int signal = SIGTERM;
  Duration timeout{10000};  // then SIGKILL to the whole process group
};

struct LogsSpec {
  std::uint64_t max_size = 10ull * 1024 * 1024;  // rotate a log file past this size
  int keep = 3;                                  // rotated files kept
};

enum class DependencyCondition { started, healthy, completed };

struct Dependency {
  std::string service;
  DependencyCondition condition = DependencyCondition::healthy;
  bool required = true;
};

enum class CheckType { http, tcp, exec, ttl, notify, none };

/// Inclusive range of accepted HTTP statuses ("200-399", or "200").
struct StatusRange {
  int low = 200;
  int high = 399;
};

struct HealthSpec {
  CheckType type = CheckType::none;
  std::string path = "/health";      // http
  StatusRange expect_status;         // http
  std::string body_contains;         // http: optional body match
  std::vector<std::string> command;  // exec argv
  Duration ttl{30000};               // ttl
  Duration interval{2000};
  Duration timeout{1000};
  Duration jitter{0};  // extra random delay up to this, first check too
  int healthy_threshold = 1;
  int unhealthy_threshold = 3;
  Duration start_period{0};  // failures in this window after start do not count
  // Extension: interval used while the instance is not passing (Envoy's
  // unhealthy_interval); 0 means the same as `interval`.
  Duration unhealthy_interval{0};
};

enum class LoadBalancerPolicy {
  round_robin,
  weighted_round_robin,
  least_connections,
  least_response_time,
  random,
  power_of_two,
  consistent_hash,
};

struct HashKey {
  enum class Kind { none, header, cookie, client_ip };
  Kind kind = Kind::none;
  std::string name;  // header or cookie name
};

struct CircuitBreakerSpec {
  bool enabled = true;
  double failure_rate = 0.5;    // 0..1
  double slow_call_rate = 1.0;  // 0..1; 1.0 with no slow calls never trips
  Duration slow_call_duration{60000};
  enum class WindowKind { count, time };
  WindowKind window_kind = WindowKind::count;
  int window_calls = 20;        // when window_kind == count
  Duration window_time{60000};  // when window_kind == time
  int minimum_calls = 10;
  Duration open_for{10000};
  Duration max_open_for{300000};  // the open time doubles on each re-open up to this
  int half_open_calls = 3;        // trial calls admitted while half open
  Duration max_half_open{30000};  // longest time spent half open before re-opening
};

struct OutlierDetectionSpec {
  bool enabled = true;
  int consecutive_failures = 5;
  Duration ejection_time{30000};
  Duration max_ejection_time{300000};
  double max_ejected = 0.5;  // share of a service's instances, 0..1
};

/// Bit flags for RetrySpec::on.
enum RetryOn : unsigned {
  retry_connect_failure = 1u << 0,
  retry_reset = 1u << 1,
  retry_5xx = 1u << 2,
  retry_timeout = 1u << 3,
};

struct RetrySpec {
  int attempts = 2;  // total tries, including the first
  Duration backoff{25};
  unsigned on = retry_connect_failure | retry_reset;
  double budget = 0.2;  // retries at most this share of requests
  /// gRPC methods that may be retried (`/pkg.Service/Method`, or
  /// `/pkg.Service/*` for all of a service's): a gRPC call is retried only
  /// when its method is listed, as it cannot be known to be idempotent.
  std::vector<std::string> grpc_methods;
};

/// What a service's instances speak (docs/traffic.md).
enum class Protocol {
  http1,  // HTTP/1.1 with pooled keep-alive connections
  http2,  // h2c (HTTP/2 without TLS), multiplexed; gRPC services need it
};

/// A service's `rate_limit:` block: a token bucket per key, refilled at
/// `rps` and holding at most `burst` tokens (Envoy's local rate limit).
struct RateLimitSpec {
  enum class Key { client_ip, header, none };
  double rps = 0;  // tokens a second; > 0
  int burst = 0;   // bucket size; written or max(1, ceil(rps))
  Key key = Key::client_ip;
  std::string header;            // with Key::header: the header whose value is the key
  std::size_t max_keys = 10000;  // buckets kept; the least recently used goes first
};

/// A service's `rollout:` block (docs/reload.md): how a process-level change
/// (a reload, a rollback, a restart) replaces its running instances. The
/// defaults cost no request: one replica at a time, a new instance beside
/// each old one, and the old one kept until its replacement has passed its
/// check for min_healthy without a break (Nomad's update block, Kubernetes'
/// minReadySeconds / maxUnavailable).
struct RolloutSpec {
  Duration min_healthy{10000};  // passing without a break this long proves a new instance
  Duration deadline{120000};    // from its start; not proven by then fails the rollout
  int max_parallel = 1;         // replicas replaced at a time
  int max_unavailable = 0;      // old replicas that may stop before their replacement is proven
  int canary = 0;               // new instances beside all the old ones, then wait for promote
  bool auto_revert = true;      // a failed rollout puts the previous definition back
};

struct TestSpec {
  std::string name;
  std::string method = "GET";
  std::string path = "/";
  std::map<std::string, std::string> headers;
  std::string body;
  int expect_status = 200;
  std::string body_contains;
  std::optional<Duration> max_latency;
};

/// Where a value came from in the YAML file, for errors found after loading.
struct SourceMark {
  int line = 0;    // 1-based; 0 when unknown
  int column = 0;  // 1-based
};

/// Where a service runs in a cluster (docs/cluster.md).
enum class Placement {
  everywhere,  // on every node whose file declares it (and that `nodes` allows)
  singleton,   // on exactly one of those, chosen by an etcd election
};

/// Which instances the gateway and resolve prefer.
enum class Locality {
  any,           // local and remote alike
  prefer_local,  // this node's own while any is eligible
};

struct ServiceSpec {
  std::string name;

  // process
  std::vector<std::string> command;        // empty for an external service
  std::string cwd;                         // relative paths resolve from meshd's working directory
  std::map<std::string, std::string> env;  // merged over meshd's environment
  int replicas = 1;
  std::optional<std::uint16_t> port;  // instance i gets port + i, exported as PORT
  ShutdownSpec shutdown;
  RestartSpec restart;
  LogsSpec logs;

  // wiring
  std::vector<Dependency> depends_on;
  std::vector<Endpoint> addresses;  // external instances

  HealthSpec health;

  // traffic
  LoadBalancerPolicy load_balancer = LoadBalancerPolicy::round_robin;
  int weight = 1;
  HashKey hash_key;
  Duration slow_start{0};
  double panic_threshold = 0.5;  // 0..1; 0 fails closed
  CircuitBreakerSpec circuit_breaker;
  OutlierDetectionSpec outlier_detection;
  RetrySpec retry;
  Duration timeout{30000};
  /// An upgraded connection (WebSocket) that carries nothing either way
  /// for this long is closed by the gateway (Envoy's stream idle timeout).
  Duration idle_timeout{3600000};
  Protocol protocol = Protocol::http1;
  std::optional<RateLimitSpec> rate_limit;  // absent: no limit

  std::vector<std::string> tags;
  std::map<std::string, std::string> metadata;
  std::vector<TestSpec> tests;

  RolloutSpec rollout;

  // cluster
  Placement placement = Placement::everywhere;
  std::vector<std::string> placement_nodes;  // empty: any node
  Locality locality = Locality::any;

  SourceMark mark;  // where the service's key is in the file

  bool managed() const { return !command.empty(); }
  /// Number of instances: replicas for a managed service, one per address otherwise.
  int instance_count() const { return managed() ? replicas : static_cast<int>(addresses.size()); }
};

struct ClusterTls {
  std::string ca;    // PEM file paths, relative to the config file's directory
  std::string cert;  // optional client certificate
  std::string key;
  bool enabled() const { return !ca.empty() || !cert.empty(); }
};

/// mesh.cluster: several meshd nodes sharing one catalog through etcd.
struct ClusterSpec {
  std::vector<std::string> etcd;  // endpoint URLs; empty: a single node, no etcd
  std::string prefix = "/meshd/";
  Duration lease_ttl{10000};
  ClusterTls tls;
  bool enabled() const { return !etcd.empty(); }
};

/// mesh.access_log: one line per gateway request, written off the loop.
struct AccessLogSpec {
  std::string path;  // empty: off; relative to the working directory
  std::string format = "json";
  std::uint64_t max_size = 100ull << 20;  // rotated past this many bytes
  int keep = 5;                           // rotated files kept (path.1 .. path.N)
  bool enabled() const { return !path.empty(); }
};

struct MeshSpec {
  Endpoint listen{"127.0.0.1", 8090};
  std::optional<Endpoint> gateway;       // absent: no data path
  std::string data_dir = "./var/meshd";  // relative to the working directory
  std::string api_token;                 // non-empty: mutating calls need it
  bool auth_reads = false;               // reads need the token too
  std::vector<std::string> cors_origins;
  std::string log_level = "info";
  std::string log_format = "text";  // text|json
  std::string node;                 // empty: the host name
  std::string advertise;            // empty: the listen host
  ClusterSpec cluster;
  AccessLogSpec access_log;
  /// Gateway event loops, each with its own SO_REUSEPORT listener; 0: the
  /// number of cores, at most 8.
  int gateway_threads = 0;
};

struct Config {
  int version = 1;
  std::string source_path;  // the file it was loaded from
  std::string environment;  // the overlay applied, or empty
  MeshSpec mesh;
  std::vector<ServiceSpec> services;  // in file order
  /// The file's `defaults:` block as a service (no name): the traffic
  /// settings of a service that only a registration or another node creates.
  ServiceSpec defaults;

  const ServiceSpec* find(const std::string& name) const {
    for (const auto& s : services)
      if (s.name == name) return &s;
    return nullptr;
  }
};

const char* to_string(RestartPolicy);
const char* to_string(DependencyCondition);
const char* to_string(CheckType);
const char* to_string(LoadBalancerPolicy);
const char* to_string(Placement);
const char* to_string(Locality);
const char* to_string(Protocol);
/// "header:NAME", "cookie:NAME", "client_ip", or "" for none: the file's spelling.
std::string to_string(const HashKey&);

}  // namespace meshd::config
