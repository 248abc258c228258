// The config seams of issue 15: protocol, rate_limit, retry.grpc_methods,
// mesh.access_log and mesh.gateway_threads.

#include <nlohmann/json.hpp>

#include "meshd/config/to_json.hpp"
#include "test_support.hpp"

namespace meshd::config {
namespace {

using testing::load;

ServiceSpec service(const std::string& fields) {
  return load("services:\n  a: {command: x, port: 80, " + fields + "}\n").services.at(0);
}

MeshSpec mesh(const std::string& fields) {
  return load("mesh: {" + fields + "}\nservices:\n  a: {command: x}\n").mesh;
}

// The message of the error loading `yaml` throws ("" when it loads).
std::string error_of(const std::string& yaml) {
  try {
    load(yaml);
  } catch (const ConfigError& e) {
    return e.detail();
  }
  return "";
}

std::string service_error(const std::string& fields) {
  return error_of("services:\n  a: {command: x, port: 80, " + fields + "}\n");
}

std::string mesh_error(const std::string& fields) {
  return error_of("mesh: {" + fields + "}\nservices:\n  a: {command: x}\n");
}

// ---- protocol ----------------------------------------------------------------

TEST(Protocol, DefaultsToHttp1AndTakesHttp2) {
  EXPECT_EQ(service("").protocol, Protocol::http1);
  EXPECT_EQ(service("protocol: http2").protocol, Protocol::http2);
  EXPECT_EQ(service("protocol: http1").protocol, Protocol::http1);
  EXPECT_STREQ(to_string(Protocol::http2), "http2");
}

TEST(Protocol, UnknownNamesTheChoices) {
  EXPECT_EQ(service_error("protocol: h2c"),
            "services.a.protocol: expected one of http1, http2, got 'h2c'");
  auto e = service_error("protocol: http3");
  EXPECT_NE(e.find("expected one of http1, http2, got 'http3'"), std::string::npos) << e;
}

TEST(Protocol, IsInheritedFromDefaults) {
  auto cfg = load("defaults: {protocol: http2}\nservices:\n  a: {command: x}\n");
  EXPECT_EQ(cfg.services.at(0).protocol, Protocol::http2);
}

// ---- rate_limit ----------------------------------------------------------------

TEST(RateLimit, AbsentMeansNoLimit) {
  EXPECT_FALSE(service("").rate_limit.has_value());
}

TEST(RateLimit, RpsBurstKeyMaxKeys) {
  auto rl = service("rate_limit: {rps: 100, burst: 250, key: 'header:X-Tenant', max_keys: 50}")
                .rate_limit;
  ASSERT_TRUE(rl);
  EXPECT_EQ(rl->rps, 100);
  EXPECT_EQ(rl->burst, 250);
  EXPECT_EQ(rl->key, RateLimitSpec::Key::header);
  EXPECT_EQ(rl->header, "X-Tenant");
  EXPECT_EQ(rl->max_keys, 50u);
}

TEST(RateLimit, BurstDefaultsToRpsRoundedUpAndAtLeastOne) {
  EXPECT_EQ(service("rate_limit: {rps: 100}").rate_limit->burst, 100);
  EXPECT_EQ(service("rate_limit: {rps: 2.5}").rate_limit->burst, 3);
  EXPECT_EQ(service("rate_limit: {rps: 0.5}").rate_limit->burst, 1);
  auto rl = service("rate_limit: {rps: 10}").rate_limit;
  EXPECT_EQ(rl->key, RateLimitSpec::Key::client_ip);
  EXPECT_EQ(rl->max_keys, 10000u);
}

TEST(RateLimit, KeyForms) {
  EXPECT_EQ(service("rate_limit: {rps: 1, key: client_ip}").rate_limit->key,
            RateLimitSpec::Key::client_ip);
  EXPECT_EQ(service("rate_limit: {rps: 1, key: none}").rate_limit->key, RateLimitSpec::Key::none);
  auto rl = service("rate_limit: {rps: 1, key: 'header:authorization'}").rate_limit;
  EXPECT_EQ(rl->key, RateLimitSpec::Key::header);
  EXPECT_EQ(rl->header, "authorization");
}

TEST(RateLimit, BadValuesSayWhatIsExpected) {
  EXPECT_EQ(service_error("rate_limit: {burst: 5}"),
            "services.a.rate_limit: rps is required (requests a second, like 100)");
  for (const char* rps : {"0", "-1", "fast", "1e10", ".nan"}) {
    auto e = service_error(std::string("rate_limit: {rps: ") + rps + "}");
    EXPECT_NE(e.find("services.a.rate_limit.rps: expected requests a second above 0"),
              std::string::npos)
        << rps << ": " << e;
  }
  for (const char* key : {"'header:'", "ip", "'header'", "'cookie:x'"}) {
    auto e = service_error(std::string("rate_limit: {rps: 1, key: ") + key + "}");
    EXPECT_NE(e.find("services.a.rate_limit.key: expected client_ip, header:NAME or none"),
              std::string::npos)
        << key << ": " << e;
  }
  EXPECT_NE(service_error("rate_limit: {rps: 1, burst: 0}").find("services.a.rate_limit.burst"),
            std::string::npos);
  EXPECT_NE(
      service_error("rate_limit: {rps: 1, max_keys: 0}").find("services.a.rate_limit.max_keys"),
      std::string::npos);
  auto unknown = service_error("rate_limit: {rps: 1, brust: 2}");
  EXPECT_NE(unknown.find("brust"), std::string::npos) << unknown;
  auto scalar = service_error("rate_limit: 100");
  EXPECT_NE(scalar.find("services.a.rate_limit"), std::string::npos) << scalar;
}

TEST(RateLimit, AHeaderKeyNeedsAValidFieldName) {
  EXPECT_EQ(service_error("rate_limit: {rps: 1, key: 'header:X Tenant'}"),
            "services.a.rate_limit.key: expected client_ip, header:NAME or none, got 'header:X "
            "Tenant'");
  EXPECT_NE(service_error("rate_limit: {rps: 1, key: 'header:X:Y'}").find("rate_limit.key"),
            std::string::npos);
  EXPECT_EQ(service("rate_limit: {rps: 1, key: 'header:X-Api_Key.v2'}").rate_limit->header,
            "X-Api_Key.v2");
}

TEST(RateLimit, DefaultsApplyAndAServiceMayTurnItOff) {
  auto cfg = load(
      "defaults: {rate_limit: {rps: 5}}\n"
      "services:\n  a: {command: x}\n  b: {command: x, rate_limit: null}\n"
      "  c: {command: x, rate_limit: false}\n  d: {command: x, rate_limit: {rps: 9}}\n");
  ASSERT_TRUE(cfg.services.at(0).rate_limit);
  EXPECT_EQ(cfg.services.at(0).rate_limit->rps, 5);
  EXPECT_FALSE(cfg.services.at(1).rate_limit);
  EXPECT_FALSE(cfg.services.at(2).rate_limit);
  EXPECT_EQ(cfg.services.at(3).rate_limit->rps, 9);
}

TEST(RateLimit, ShownByToJson) {
  auto cfg = load(
      "services:\n  a: {command: x, rate_limit: {rps: 2.5, key: 'header:X-T'}}\n"
      "  b: {command: x}\n");
  auto j = to_json(cfg, false);
  EXPECT_EQ(
      j["services"]["a"]["rate_limit"],
      nlohmann::json({{"rps", 2.5}, {"burst", 3}, {"key", "header:X-T"}, {"max_keys", 10000}}));
  EXPECT_TRUE(j["services"]["b"]["rate_limit"].is_null());
  EXPECT_EQ(j["services"]["a"]["protocol"], "http1");
}

// ---- retry.grpc_methods ----------------------------------------------------------

TEST(GrpcMethods, MethodsAndWholeServices) {
  auto s = service("retry: {grpc_methods: [/pkg.Search/Query, '/pkg.v1.Index/*']}");
  EXPECT_EQ(s.retry.grpc_methods,
            (std::vector<std::string>{"/pkg.Search/Query", "/pkg.v1.Index/*"}));
  EXPECT_TRUE(service("").retry.grpc_methods.empty());
}

TEST(GrpcMethods, BadFormsNameTheItem) {
  for (const char* bad :
       {"pkg.Search/Query", "/pkg.Search", "/pkg.Search/", "//Query", "/pkg.Search/Query/x", "/"}) {
    auto e = service_error(std::string("retry: {grpc_methods: ['x', '") + bad + "']}");
    // The first item ('x') is bad too; whichever is reported names its index and value.
    EXPECT_NE(e.find("services.a.retry.grpc_methods["), std::string::npos) << bad << ": " << e;
    EXPECT_NE(e.find("expected /package.Service/Method or /package.Service/*"), std::string::npos)
        << e;
  }
  EXPECT_EQ(service_error("retry: {grpc_methods: [/a.B/C, 'a.B/C']}"),
            "services.a.retry.grpc_methods[1]: expected /package.Service/Method or "
            "/package.Service/*, got 'a.B/C'");
  auto scalar = service_error("retry: {grpc_methods: 5}");
  EXPECT_NE(scalar.find("services.a.retry.grpc_methods"), std::string::npos) << scalar;
}

TEST(GrpcMethods, AWildcardOnlyAsTheWholeMethod) {
  EXPECT_EQ(service("retry: {grpc_methods: ['/grpc.health.v1.Health/Check', '/a_1.B2/*']}")
                .retry.grpc_methods.size(),
            2u);
  for (const char* bad : {"/pkg.Search/*x", "/*/Get", "/pkg..Search/Get", "/pkg./Get", "/.pkg/Get",
                          "/pkg.Search/1Get"})
    EXPECT_NE(service_error(std::string("retry: {grpc_methods: ['") + bad + "']}")
                  .find("services.a.retry.grpc_methods[0]"),
              std::string::npos)
        << bad;
  auto e = service_error("retry: {grpc_methods: ['/pkg.Search/Get*']}");
  EXPECT_NE(e.find("services.a.retry.grpc_methods[0]"), std::string::npos) << e;
  auto ws = service_error("retry: {grpc_methods: ['/pkg.Search/Get Thing']}");
  EXPECT_NE(ws.find("services.a.retry.grpc_methods[0]"), std::string::npos) << ws;
}

// ---- mesh.access_log ------------------------------------------------------------

TEST(AccessLogConfig, OffByDefault) {
  auto m = mesh("");
  EXPECT_FALSE(m.access_log.enabled());
  EXPECT_TRUE(
      to_json(load("services:\n  a: {command: x}\n"), false)["mesh"]["access_log"].is_null());
}

TEST(AccessLogConfig, PathFormatMaxSizeKeep) {
  auto m = mesh("access_log: {path: logs/access.log, format: json, max_size: 10MB, keep: 2}");
  EXPECT_TRUE(m.access_log.enabled());
  EXPECT_EQ(m.access_log.path, "logs/access.log");
  EXPECT_EQ(m.access_log.format, "json");
  EXPECT_EQ(m.access_log.max_size, 10ull << 20);  // sizes are binary: 1KB = 1024
  EXPECT_EQ(m.access_log.keep, 2);
  auto d = mesh("access_log: {path: /var/log/meshd.log}");
  EXPECT_EQ(d.access_log.max_size, 100ull << 20);
  EXPECT_EQ(d.access_log.keep, 5);
  EXPECT_EQ(d.access_log.format, "json");
}

TEST(AccessLogConfig, BadValues) {
  EXPECT_EQ(mesh_error("access_log: {format: json}"),
            "mesh.access_log: path is required (a file to write to)");
  EXPECT_EQ(mesh_error("access_log: {path: ''}"), "mesh.access_log.path: must not be empty");
  auto format = mesh_error("access_log: {path: a.log, format: text}");
  EXPECT_NE(format.find("mesh.access_log.format: expected one of json, got 'text'"),
            std::string::npos)
      << format;
  EXPECT_EQ(mesh_error("access_log: {path: a.log, max_size: 1KB}"),
            "mesh.access_log.max_size: must be at least 4KB");
  EXPECT_EQ(mesh_error("access_log: {path: a.log, max_size: 100}"),
            "mesh.access_log.max_size: expected a size like 512KB, 10MB or 1GB, got '100'");
  auto keep = mesh_error("access_log: {path: a.log, keep: -1}");
  EXPECT_NE(keep.find("mesh.access_log.keep"), std::string::npos) << keep;
  auto unknown = mesh_error("access_log: {path: a.log, rotate: daily}");
  EXPECT_NE(unknown.find("rotate"), std::string::npos) << unknown;
}

// ---- mesh.gateway_threads ----------------------------------------------------------

TEST(GatewayThreads, DefaultIsAutomaticAndARangeIsKept) {
  EXPECT_EQ(mesh("").gateway_threads, 0);
  EXPECT_EQ(mesh("gateway_threads: 1").gateway_threads, 1);
  EXPECT_EQ(mesh("gateway_threads: 8").gateway_threads, 8);
  EXPECT_EQ(mesh("gateway_threads: 0").gateway_threads, 0);  // the number of cores, at most 8
  for (const char* bad : {"-1", "65", "two", "1.5"}) {
    auto e = mesh_error(std::string("gateway_threads: ") + bad);
    EXPECT_NE(e.find("mesh.gateway_threads"), std::string::npos) << bad << ": " << e;
  }
}

}  // namespace
}  // namespace meshd::config
