#include <spdlog/spdlog.h>

#include <algorithm>
#include <fstream>
#include <random>
#include <set>

#include "daemon_state.hpp"
#include "data_dir.hpp"
#include "meshd/cluster/etcd_catalog.hpp"
#include "node_identity.hpp"

// The catalog backend: SQLite on a single node, etcd in a cluster
// (docs/cluster.md), and what only a cluster has (singleton elections).

namespace meshd::daemon {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

// A random identity kept in the data dir: a restart of this node (same
// data dir) may take back its own name from etcd; another meshd may not.
std::string incarnation(const fs::path& data_dir) {
  auto path = data_dir / "node-id";
  std::ifstream in(path);
  std::string id;
  if (in >> id && id.size() == 32) return id;
  std::random_device rd;
  std::mt19937_64 gen(rd());
  static const char* hex = "0123456789abcdef";
  id.clear();
  for (int i = 0; i < 32; ++i) id += hex[gen() % 16];
  write_file_atomically(path, id + "\n");
  return id;
}

}  // namespace

void Daemon::State::make_catalog() {
  const auto& cluster = config->mesh.cluster;
  if (!cluster.enabled()) {
    catalog = registry::make_sqlite_catalog(*database, node_name(*config));
    return;
  }
  cluster::EtcdOptions eo;
  eo.endpoints = cluster.etcd;
  eo.ca_file = cluster.tls.ca;
  eo.cert_file = cluster.tls.cert;
  eo.key_file = cluster.tls.key;
  auto client = cluster::EtcdClient::create(io, eo);
  if (!client) throw std::runtime_error("mesh.cluster: " + client.error().message);
  cluster::EtcdCatalogOptions co;
  co.node = node_name(*config);
  co.prefix = cluster.prefix;
  co.lease_ttl = cluster.lease_ttl;
  co.incarnation = incarnation(data_dir);
  co.advertise = advertise_address(*config);
  auto made = cluster::EtcdCatalog::create(*scheduler, clock, std::move(*client), co,
                                           [this](const std::string& line) { refuse(line); });
  etcd = made.get();
  catalog = std::move(made);
}

// A second node with a name already held: one clear line (no event as
// well: its echo in the log would be a second line), then meshd stops
// what it started and exits 1.
void Daemon::State::refuse(const std::string& line) {
  spdlog::error("{}", line);
  exit_code = 1;
  if (gateway) gateway->stop();
  supervisor->shutdown([this] {
    if (http) http->stop();
    io.stop();
  });
}

// In a cluster, wait a moment for etcd before starting the services, so a
// refused name stops meshd before anything runs. etcd down: go on; the
// node joins when etcd comes.
void Daemon::State::await_first_join() {
  if (!etcd) return;
  auto deadline = std::chrono::steady_clock::now() + 3s;
  while (!etcd->joined() && exit_code == 0 && std::chrono::steady_clock::now() < deadline &&
         !io.stopped())
    io.run_for(50ms);
  if (!etcd->joined() && exit_code == 0)
    spdlog::warn(
        "cluster: etcd ({}) does not answer yet: starting the local services; this node "
        "joins the cluster when it does",
        etcd->client().current_endpoint());
}

void Daemon::State::apply_placement(const config::Config& cfg) {
  const std::string& self = catalog->node_name();
  std::set<std::string> singles;
  for (const auto& spec : cfg.services) {
    const auto& nodes = spec.placement_nodes;
    bool allowed = nodes.empty() || std::find(nodes.begin(), nodes.end(), self) != nodes.end();
    // On a single node a singleton simply runs: there is nobody to elect.
    bool single = spec.placement == config::Placement::singleton && singletons;
    if (single && allowed) singles.insert(spec.name);
    bool run = allowed && (!single || singletons->leads(spec.name));
    if (supervisor->placed(spec.name) != run) {
      auto placed = supervisor->set_placed(spec.name, run);
      if (!placed) spdlog::warn("placement of {}: {}", spec.name, placed.error().message);
    }
  }
  if (singletons) singletons->set_services(singles);
}

}  // namespace meshd::daemon
