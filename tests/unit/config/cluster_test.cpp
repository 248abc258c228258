// The cluster settings of the file: mesh.node, mesh.advertise, mesh.cluster,
// and a service's placement and locality. A node that starts with a wrong
// etcd URL or a wildcard advertise address fails later, far from the file,
// so `meshd validate` catches each of these at its line and column.

#include <filesystem>

#include "meshd/config/diff.hpp"
#include "meshd/config/to_json.hpp"
#include "test_support.hpp"

namespace meshd::config {
namespace {

using testing::load;

const std::string kServices = "services:\n  api:\n    command: x\n";

std::string with_mesh(const std::string& mesh) {
  return "mesh:\n" + mesh + kServices;
}

TEST(ClusterConfig, AbsentMeansASingleNode) {
  Config c = load(kServices);
  EXPECT_FALSE(c.mesh.cluster.enabled());
  EXPECT_EQ(c.mesh.node, "");
  EXPECT_EQ(c.mesh.advertise, "");
  EXPECT_EQ(c.mesh.cluster.prefix, "/meshd/");
  EXPECT_EQ(c.mesh.cluster.lease_ttl, Duration{10000});
  EXPECT_EQ(c.services[0].placement, Placement::everywhere);
  EXPECT_TRUE(c.services[0].placement_nodes.empty());
  EXPECT_EQ(c.services[0].locality, Locality::any);
}

TEST(ClusterConfig, FullBlock) {
  Config c =
      load(with_mesh("  node: gpu-box.lab_1\n  advertise: 10.0.0.5\n  cluster:\n"
                     "    etcd: [http://127.0.0.1:2379, 'http://etcd-2:2380']\n"
                     "    prefix: /team-a/meshd/\n    lease_ttl: 2s\n"));
  EXPECT_EQ(c.mesh.node, "gpu-box.lab_1");
  EXPECT_EQ(c.mesh.advertise, "10.0.0.5");
  EXPECT_EQ(c.mesh.cluster.etcd,
            (std::vector<std::string>{"http://127.0.0.1:2379", "http://etcd-2:2380"}));
  EXPECT_EQ(c.mesh.cluster.prefix, "/team-a/meshd/");
  EXPECT_EQ(c.mesh.cluster.lease_ttl, Duration{2000});
  EXPECT_FALSE(c.mesh.cluster.tls.enabled());
}

TEST(ClusterConfig, OneEndpointAsAString) {
  Config c = load(with_mesh("  cluster: {etcd: 'http://[::1]:2379'}\n"));
  EXPECT_EQ(c.mesh.cluster.etcd, std::vector<std::string>{"http://[::1]:2379"});
}

TEST(ClusterConfig, TlsPathsResolveFromTheFilesDirectory) {
  const std::string yaml = with_mesh(
      "  cluster:\n    etcd: https://etcd:2379\n"
      "    tls: {ca: certs/ca.pem, cert: ../client.pem, key: /abs/client-key.pem}\n");
  Config c = load_string(yaml, "/etc/meshd/meshd.yaml");
  EXPECT_EQ(c.mesh.cluster.tls.ca, "/etc/meshd/certs/ca.pem");
  EXPECT_EQ(c.mesh.cluster.tls.cert, "/etc/client.pem");
  EXPECT_EQ(c.mesh.cluster.tls.key, "/abs/client-key.pem");
  // A file named without a directory is relative to the working directory.
  Config here = load_string(yaml, "meshd.yaml");
  EXPECT_EQ(here.mesh.cluster.tls.ca,
            (std::filesystem::current_path() / "certs/ca.pem").lexically_normal().string());
}

TEST(ClusterConfig, TlsWithOnlyACa) {
  Config c =
      load(with_mesh("  cluster: {etcd: ['https://a:1', 'https://b:2'], tls: {ca: ca.pem}}\n"));
  EXPECT_TRUE(c.mesh.cluster.tls.enabled());
  EXPECT_TRUE(c.mesh.cluster.tls.cert.empty());
}

TEST(ClusterConfig, OverlayReplacesTheEndpoints) {
  Config c = load(with_mesh("  cluster: {etcd: 'http://dev:2379'}\n") +
                      "environments:\n  prod:\n    mesh:\n      node: prod-1\n"
                      "      cluster: {etcd: ['http://p1:2379', 'http://p2:2379']}\n",
                  "prod");
  EXPECT_EQ(c.mesh.node, "prod-1");
  EXPECT_EQ(c.mesh.cluster.etcd.size(), 2u);
}

TEST(ClusterConfig, AnOverlayIsCheckedWithTheBlockItMergesInto) {
  const std::string yaml =
      with_mesh("  cluster: {etcd: 'https://dev:2379', tls: {ca: ca.pem}}\n") +
      "environments:\n  prod:\n    mesh:\n      cluster: {etcd: ['https://p1:2379']}\n"
      "  plain:\n    mesh:\n      cluster: {etcd: ['http://p1:2379']}\n";
  EXPECT_EQ(load(yaml).mesh.cluster.etcd, std::vector<std::string>{"https://dev:2379"});
  EXPECT_EQ(load(yaml, "prod").mesh.cluster.etcd, std::vector<std::string>{"https://p1:2379"});
  auto error = testing::load_error(yaml, "plain");
  EXPECT_EQ(error.detail(),
            "mesh.cluster.etcd: 'http://p1:2379' is plain http but tls is set; use https:// "
            "endpoints");
  // A bad value in an overlay fails even when another environment is chosen.
  EXPECT_EQ(
      testing::load_error(yaml + "  bad:\n    mesh:\n      cluster: {lease_ttl: 1s}\n").detail(),
      "environments.bad.mesh.cluster.lease_ttl: must be at least 2s, got '1s'");
}

TEST(ClusterConfig, BadEndpoints) {
  EXPECT_CONFIG_ERROR(with_mesh("  cluster:\n    etcd: [ftp://127.0.0.1:2379]\n"), 3, 12,
                      "mesh.cluster.etcd[0]: expected http://host:port or https://host:port, got "
                      "'ftp://127.0.0.1:2379'");
  EXPECT_CONFIG_ERROR(with_mesh("  cluster:\n    etcd: http://127.0.0.1\n"), 3, 11,
                      "mesh.cluster.etcd: expected http://host:port or https://host:port, got "
                      "'http://127.0.0.1' (the port is missing)");
  EXPECT_CONFIG_ERROR(with_mesh("  cluster:\n    etcd: http://127.0.0.1:2379/v3\n"), 3, 11,
                      "mesh.cluster.etcd: expected http://host:port or https://host:port, got "
                      "'http://127.0.0.1:2379/v3'");
  EXPECT_CONFIG_ERROR(with_mesh("  cluster:\n    etcd: 127.0.0.1:2379\n"), 3, 11,
                      "mesh.cluster.etcd: expected http://host:port or https://host:port, got "
                      "'127.0.0.1:2379'");
  EXPECT_CONFIG_ERROR(with_mesh("  cluster:\n    etcd: []\n"), 3, 11,
                      "mesh.cluster.etcd: must list at least one endpoint");
}

TEST(ClusterConfig, LeaseTtlAtLeastTwoSeconds) {
  EXPECT_CONFIG_ERROR(with_mesh("  cluster:\n    etcd: http://a:1\n    lease_ttl: 1500ms\n"), 4, 16,
                      "mesh.cluster.lease_ttl: must be at least 2s, got '1500ms'");
}

TEST(ClusterConfig, PrefixNeedsSlashes) {
  EXPECT_CONFIG_ERROR(
      with_mesh("  cluster:\n    prefix: meshd\n"), 3, 13,
      "mesh.cluster.prefix: must start and end with '/', like /meshd/, got 'meshd'");
  EXPECT_CONFIG_ERROR(
      with_mesh("  cluster:\n    prefix: /meshd\n"), 3, 13,
      "mesh.cluster.prefix: must start and end with '/', like /meshd/, got '/meshd'");
}

TEST(ClusterConfig, AdvertiseIsNotAWildcard) {
  const std::string why =
      "' is a wildcard that other nodes cannot connect to; give this node's own address";
  EXPECT_CONFIG_ERROR(with_mesh("  advertise: 0.0.0.0\n"), 2, 14, "mesh.advertise: '0.0.0.0" + why);
  EXPECT_CONFIG_ERROR(with_mesh("  advertise: '::'\n"), 2, 14, "mesh.advertise: '::" + why);
  EXPECT_CONFIG_ERROR(with_mesh("  advertise: http://x\n"), 2, 14,
                      "mesh.advertise: expected a host name or an IP address, got 'http://x'");
  EXPECT_CONFIG_ERROR(with_mesh("  advertise: 10.0.0.5:8090\n"), 2, 14,
                      "mesh.advertise: expected a host name or an IP address, got "
                      "'10.0.0.5:8090'");
  Config v6 = load(with_mesh("  advertise: 'fd00::5'\n"));
  EXPECT_EQ(v6.mesh.advertise, "fd00::5");
}

TEST(ClusterConfig, BadNodeNames) {
  EXPECT_CONFIG_ERROR(with_mesh("  node: gpu box\n"), 2, 9,
                      "mesh.node: 'gpu box' may hold only letters, digits, '.', '_' and '-' (it "
                      "is part of instance ids and etcd keys)");
  EXPECT_CONFIG_ERROR(with_mesh("  node: a@b\n"), 2, 9,
                      "mesh.node: 'a@b' may hold only letters, digits, '.', '_' and '-' (it is "
                      "part of instance ids and etcd keys)");
  EXPECT_CONFIG_ERROR(with_mesh("  node: " + std::string(64, 'n') + "\n"), 2, 9,
                      "mesh.node: '" + std::string(64, 'n') + "' is longer than 63 characters");
  EXPECT_CONFIG_ERROR(with_mesh("  node: ''\n"), 2, 9, "mesh.node: must not be empty");
  EXPECT_EQ(load(with_mesh("  node: " + std::string(63, 'n') + "\n")).mesh.node.size(), 63u);
}

TEST(ClusterConfig, TlsAndEndpointsAgree) {
  EXPECT_CONFIG_ERROR(with_mesh("  cluster:\n    etcd: http://a:1\n    tls: {ca: ca.pem}\n"), 3, 11,
                      "mesh.cluster.etcd: 'http://a:1' is plain http but tls is set; use "
                      "https:// endpoints");
  EXPECT_CONFIG_ERROR(with_mesh("  cluster:\n    etcd: https://a:1\n"), 3, 11,
                      "mesh.cluster.tls.ca: 'https://a:1' is https; give the CA that signed "
                      "etcd's certificate");
  EXPECT_CONFIG_ERROR(
      with_mesh("  cluster:\n    etcd: https://a:1\n    tls: {cert: c.pem, key: k.pem}\n"), 4, 10,
      "mesh.cluster.tls.ca: https endpoints need the CA that signed etcd's certificate");
  EXPECT_CONFIG_ERROR(
      with_mesh("  cluster:\n    etcd: https://a:1\n    tls: {ca: ca.pem, cert: c.pem}\n"), 4, 10,
      "mesh.cluster.tls.key: a client certificate needs its key");
  EXPECT_CONFIG_ERROR(
      with_mesh("  cluster:\n    etcd: https://a:1\n    tls: {ca: ca.pem, key: k.pem}\n"), 4, 10,
      "mesh.cluster.tls.cert: a client key needs its certificate");
}

TEST(ClusterConfig, UnknownKeysWithHints) {
  EXPECT_CONFIG_ERROR(with_mesh("  cluster:\n    leas_ttl: 5s\n"), 3, 5,
                      "unknown key 'leas_ttl' in mesh.cluster (did you mean 'lease_ttl'?)");
  EXPECT_CONFIG_ERROR(with_mesh("  cluster:\n    tls: {certificate: c.pem}\n"), 3, 11,
                      "unknown key 'certificate' in mesh.cluster.tls (did you mean 'cert'?)");
  EXPECT_CONFIG_ERROR(with_mesh("  nodes: a\n"), 2, 3,
                      "unknown key 'nodes' in mesh (did you mean 'node'?)");
  EXPECT_CONFIG_ERROR(kServices + "    placement: {node: [a]}\n", 4, 17,
                      "unknown key 'node' in services.api.placement (did you mean 'nodes'?)");
}

TEST(Placement, Spellings) {
  Config c = load(
      "services:\n"
      "  a: {command: x, placement: singleton}\n"
      "  b: {command: x, placement: {nodes: [gpu-box, cpu-box]}}\n"
      "  c: {command: x, placement: {singleton: true, nodes: [gpu-box]}}\n"
      "  d: {command: x, placement: everywhere, locality: prefer_local}\n");
  EXPECT_EQ(c.find("a")->placement, Placement::singleton);
  EXPECT_TRUE(c.find("a")->placement_nodes.empty());
  EXPECT_EQ(c.find("b")->placement, Placement::everywhere);
  EXPECT_EQ(c.find("b")->placement_nodes, (std::vector<std::string>{"gpu-box", "cpu-box"}));
  EXPECT_EQ(c.find("c")->placement, Placement::singleton);
  EXPECT_EQ(c.find("c")->placement_nodes, std::vector<std::string>{"gpu-box"});
  EXPECT_EQ(c.find("d")->placement, Placement::everywhere);
  EXPECT_EQ(c.find("d")->locality, Locality::prefer_local);
}

TEST(Placement, Errors) {
  EXPECT_CONFIG_ERROR(kServices + "    placement: singelton\n", 4, 16,
                      "services.api.placement: expected one of everywhere, singleton, got "
                      "'singelton' (did you mean 'singleton'?)");
  EXPECT_CONFIG_ERROR(kServices + "    placement: {nodes: []}\n", 4, 24,
                      "services.api.placement.nodes: must name at least one node (omit it for "
                      "any node)");
  EXPECT_CONFIG_ERROR(kServices + "    placement: {nodes: ['a b']}\n", 4, 25,
                      "services.api.placement.nodes[0]: 'a b' may hold only letters, digits, "
                      "'.', '_' and '-' (it is part of instance ids and etcd keys)");
  EXPECT_CONFIG_ERROR("services:\n  db:\n    address: 10.0.0.9:5432\n    placement: singleton\n", 4,
                      16,
                      "service 'db' is external (address:); placement applies only to "
                      "processes meshd runs");
  EXPECT_CONFIG_ERROR("services:\n  db:\n    address: 10.0.0.9:5432\n    placement: {nodes: [a]}\n",
                      4, 16,
                      "service 'db' is external (address:); placement applies only to "
                      "processes meshd runs");
  // Locality is about where calls go, which an external service has too.
  EXPECT_EQ(load("services:\n  db: {address: '10.0.0.9:1', locality: prefer_local}\n")
                .services[0]
                .locality,
            Locality::prefer_local);
}

TEST(Locality, UnknownValue) {
  EXPECT_CONFIG_ERROR(kServices + "    locality: prefer-local\n", 4, 15,
                      "services.api.locality: expected one of any, prefer_local, got "
                      "'prefer-local' (did you mean 'prefer_local'?)");
}

TEST(Defaults, KeptAsAServiceWithoutName) {
  Config c = load(
      "defaults:\n  load_balancer: least_connections\n  locality: prefer_local\n"
      "  retry: {attempts: 3}\n" +
          kServices +
          "environments:\n  prod:\n    defaults: {timeout: 5s, load_balancer: random}\n",
      "prod");
  EXPECT_EQ(c.defaults.name, "");
  EXPECT_EQ(c.defaults.load_balancer, LoadBalancerPolicy::random);  // the overlay wins
  EXPECT_EQ(c.defaults.locality, Locality::prefer_local);
  EXPECT_EQ(c.defaults.retry.attempts, 3);
  EXPECT_EQ(c.defaults.timeout, Duration{5000});
  Config plain = load(kServices);
  EXPECT_EQ(plain.defaults.load_balancer, LoadBalancerPolicy::round_robin);
}

TEST(ClusterConfig, ShownByToJson) {
  Config c = load(
      "mesh:\n  node: n1\n  advertise: 10.0.0.5\n  cluster: {etcd: 'http://e:2379', lease_ttl: "
      "5s}\n"
      "defaults: {locality: prefer_local}\n"
      "services:\n  a: {command: x, placement: singleton}\n"
      "  b: {command: x, placement: {nodes: [n1]}}\n");
  auto j = to_json(c, true);
  EXPECT_EQ(j["mesh"]["node"], "n1");
  EXPECT_EQ(j["mesh"]["advertise"], "10.0.0.5");
  EXPECT_EQ(j["mesh"]["cluster"]["etcd"], nlohmann::json::array({"http://e:2379"}));
  EXPECT_EQ(j["mesh"]["cluster"]["prefix"], "/meshd/");
  EXPECT_EQ(j["mesh"]["cluster"]["lease_ttl"], "5s");
  EXPECT_TRUE(j["mesh"]["cluster"]["tls"].is_null());
  EXPECT_EQ(j["defaults"]["locality"], "prefer_local");
  EXPECT_EQ(j["services"]["a"]["placement"], "singleton");
  EXPECT_EQ(j["services"]["a"]["locality"], "prefer_local");  // from defaults
  EXPECT_EQ(j["services"]["b"]["placement"],
            nlohmann::json({{"singleton", false}, {"nodes", {"n1"}}}));
}

TEST(ClusterConfig, ReloadClassifiesPlacementAndLocality) {
  Config before = load(kServices);
  Config local = load(kServices + "    locality: prefer_local\n");
  Config single = load(kServices + "    placement: singleton\n");
  EXPECT_EQ(diff_configs(before, local).find("api")->change, ServiceChange::in_place);
  EXPECT_EQ(diff_configs(before, single).find("api")->change, ServiceChange::replace);
  EXPECT_EQ(diff_configs(before, single).find("api")->fields,
            std::vector<std::string>{"placement"});
  Config with_defaults = load("defaults: {timeout: 5s}\n" + kServices);
  auto d = diff_configs(before, with_defaults);
  EXPECT_TRUE(d.defaults_changed);
  EXPECT_FALSE(d.empty());
  EXPECT_TRUE(diff_configs(before, load(kServices)).empty());
}

}  // namespace
}  // namespace meshd::config
