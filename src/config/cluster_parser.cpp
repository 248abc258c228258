#include "meshd/config/cluster_checks.hpp"
#include "names.hpp"
#include "parsers.hpp"

// mesh.node, mesh.advertise and mesh.cluster, and a service's placement and
// locality: the settings that only matter when several nodes share an etcd.

namespace meshd::config::detail {

namespace {

constexpr Duration min_lease_ttl{2000};

std::string checked(const Node& node, const std::string& path,
                    std::string (*problem)(std::string_view)) {
  std::string value = as_string(node, path);
  if (std::string why = problem(value); !why.empty()) fail(node.mark, path + ": " + why);
  return value;
}

std::string node_name(const Node& node, const std::string& path) {
  return checked(node, path, node_name_problem);
}

void parse_endpoints(const Node& node, const std::string& path, ClusterSpec& out) {
  if (node.is_list()) {
    if (node.items.empty()) fail(node.mark, path + ": must list at least one endpoint");
    for (std::size_t i = 0; i < node.items.size(); ++i)
      out.etcd.push_back(
          checked(node.items[i], path + "[" + std::to_string(i) + "]", etcd_endpoint_problem));
  } else {
    out.etcd.push_back(checked(node, path, etcd_endpoint_problem));
  }
}

// The node of `cluster` that a cluster_tls_problem() message names first.
SourceMark tls_problem_mark(const MapView& cluster, const std::string& problem) {
  const std::string key = problem.substr(0, problem.find(':'));
  MapView tls = cluster.child("tls");
  const Node* at = nullptr;
  if (key.starts_with("tls.")) at = tls.get(key.substr(4));
  if (!at) at = cluster.get(key.starts_with("tls") ? "tls" : "etcd");
  if (!at) at = cluster.get("etcd");
  return at ? at->mark : cluster.node().mark;
}

ClusterSpec parse_cluster(const MapView& cluster, Completeness completeness) {
  ClusterSpec out;
  if (const Node* etcd = cluster.get("etcd")) parse_endpoints(*etcd, cluster.path("etcd"), out);
  if (const Node* prefix = cluster.get("prefix")) {
    out.prefix = as_string(*prefix, cluster.path("prefix"));
    if (out.prefix.empty() || out.prefix.front() != '/' || out.prefix.back() != '/')
      fail(prefix->mark, cluster.path("prefix") +
                             ": must start and end with '/', like /meshd/, got '" + out.prefix +
                             "'");
  }
  read(cluster, "lease_ttl", out.lease_ttl, min_lease_ttl);
  MapView tls = cluster.child("tls");
  read(tls, "ca", out.tls.ca);
  read(tls, "cert", out.tls.cert);
  read(tls, "key", out.tls.key);
  if (completeness == Completeness::fragment) return out;
  if (std::string problem = cluster_tls_problem(out); !problem.empty())
    fail(tls_problem_mark(cluster, problem), cluster.path() + "." + problem);
  return out;
}

}  // namespace

void parse_cluster_identity(const MapView& mesh, MeshSpec& spec, Completeness completeness) {
  if (const Node* node = mesh.get("node")) spec.node = node_name(*node, mesh.path("node"));
  if (const Node* advertise = mesh.get("advertise"))
    spec.advertise = checked(*advertise, mesh.path("advertise"), advertise_problem);
  if (mesh.has("cluster")) spec.cluster = parse_cluster(mesh.child("cluster"), completeness);
}

void parse_placement(const MapView& service, ParsedService& out) {
  ServiceSpec& spec = out.spec;
  read_choice(service, "locality", spec.locality, locality_names());
  const Node* node = service.get("placement");
  if (!node) return;
  out.placement_mark = node->mark;
  const std::string path = service.path("placement");
  if (!node->is_map()) {
    spec.placement = as_choice(*node, path, placement_names());
    return;
  }
  MapView map(*node, path);
  bool singleton = false;
  read(map, "singleton", singleton);
  spec.placement = singleton ? Placement::singleton : Placement::everywhere;
  if (const Node* nodes = map.get("nodes")) {
    const std::string nodes_path = map.path("nodes");
    if (!nodes->is_list())
      fail(nodes->mark,
           nodes_path + ": expected a list of node names, got " + describe(nodes->kind));
    if (nodes->items.empty())
      fail(nodes->mark, nodes_path + ": must name at least one node (omit it for any node)");
    for (std::size_t i = 0; i < nodes->items.size(); ++i)
      spec.placement_nodes.push_back(
          node_name(nodes->items[i], nodes_path + "[" + std::to_string(i) + "]"));
  }
}

void check_placement(const ParsedService& parsed) {
  const ServiceSpec& spec = parsed.spec;
  const bool placed = spec.placement != Placement::everywhere || !spec.placement_nodes.empty();
  if (placed && !spec.managed() && parsed.placement_mark)
    fail(*parsed.placement_mark,
         "service '" + spec.name +
             "' is external (address:); placement applies only to processes meshd runs");
}

}  // namespace meshd::config::detail
