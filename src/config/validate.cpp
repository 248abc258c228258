#include "validate.hpp"

#include <map>
#include <set>

#include "cycle.hpp"
#include "meshd/config/service_name.hpp"
#include "meshd/core/listen.hpp"
#include "suggest.hpp"

namespace meshd::config::detail {

using core::is_loopback_host;

namespace {

void check_names(const std::vector<ParsedService>& services) {
  for (const auto& parsed : services)
    if (!valid_service_name(parsed.spec.name))
      fail(parsed.spec.mark, "service name '" + parsed.spec.name +
                                 "' must be 1-63 lowercase letters, digits, '_' or '-', "
                                 "starting with a letter or digit (it appears in URLs)");
}

void check_dependencies(const std::vector<ParsedService>& services) {
  std::map<std::string, const ServiceSpec*> by_name;
  std::vector<std::string> names;
  for (const auto& parsed : services) {
    by_name[parsed.spec.name] = &parsed.spec;
    names.push_back(parsed.spec.name);
  }
  for (const auto& parsed : services) {
    const ServiceSpec& spec = parsed.spec;
    std::set<std::string> seen;
    for (std::size_t i = 0; i < spec.depends_on.size(); ++i) {
      const Dependency& dep = spec.depends_on[i];
      const SourceMark mark = parsed.dependency_marks[i];
      const std::string who = "service '" + spec.name + "'";
      if (dep.service == spec.name) fail(mark, who + " depends on itself");
      auto target = by_name.find(dep.service);
      if (target == by_name.end())
        fail(mark, who + " depends on unknown service '" + dep.service + "'" +
                       did_you_mean(dep.service, names));
      if (!seen.insert(dep.service).second)
        fail(mark, who + " lists '" + dep.service + "' twice in depends_on");
      if (dep.condition != DependencyCondition::completed) continue;
      if (!target->second->managed())
        fail(mark, who + " waits for '" + dep.service +
                       "' to complete, but it is external and never does");
      if (target->second->restart.policy == RestartPolicy::always)
        fail(mark, who + " waits for '" + dep.service +
                       "' to complete, but its restart policy 'always' never lets it");
    }
  }

  Config graph;
  for (const auto& parsed : services) graph.services.push_back(parsed.spec);
  auto cycle = find_cycle_path(graph);
  if (cycle.empty()) return;
  // Point at the first edge of the cycle: cycle[0]'s entry for cycle[1].
  SourceMark mark;
  for (const auto& parsed : services) {
    if (parsed.spec.name != cycle[0]) continue;
    for (std::size_t i = 0; i < parsed.spec.depends_on.size(); ++i)
      if (parsed.spec.depends_on[i].service == cycle[1]) mark = parsed.dependency_marks[i];
  }
  fail(mark, "dependency cycle: " + join(cycle, " -> "));
}

// Everything meshd and the managed instances listen on shares the loopback
// interface; a wildcard listener collides with all of it.
std::string host_class(const std::string& host) {
  static const std::set<std::string> wildcard = {"0.0.0.0", "::", ""};
  return wildcard.contains(host) || is_loopback_host(host) ? "local" : host;
}

// The ports that something meshd starts listens on (meshd itself, its
// gateway, its managed instances): two of those on one port cannot both
// start. An external service's address is only somewhere to send traffic,
// so it collides with a listener, but two external services may well name
// the same address (two names for one database).
class PortTable {
 public:
  /// `listens`: something meshd starts will bind the port; otherwise it is
  /// an external service's address. Two uses collide when either listens.
  void take(const std::string& host, std::uint16_t port, bool listens, const std::string& owner,
            SourceMark mark) {
    if (port == 0) return;  // any free port: cannot collide
    auto key = std::pair{host_class(host), port};
    auto [first, last] = uses_.equal_range(key);
    for (auto it = first; it != last; ++it)
      if (listens || it->second.listens)
        fail(mark, "port " + std::to_string(port) + " is taken twice: " + it->second.owner +
                       " and " + owner);
    uses_.emplace(key, Use{owner, listens});
  }

 private:
  struct Use {
    std::string owner;
    bool listens;
  };
  std::multimap<std::pair<std::string, std::uint16_t>, Use> uses_;
};

void check_ports(const ParsedMesh& mesh, const std::vector<ParsedService>& services) {
  PortTable ports;
  ports.take(mesh.spec.listen.host, mesh.spec.listen.port, true, "mesh.listen", mesh.listen_mark);
  if (mesh.spec.gateway)
    ports.take(mesh.spec.gateway->host, mesh.spec.gateway->port, true, "mesh.gateway",
               mesh.gateway_mark);
  for (const auto& parsed : services) {
    const ServiceSpec& spec = parsed.spec;
    const std::string who = "service '" + spec.name + "'";
    if (spec.managed() && spec.port) {
      const int first = *spec.port;
      const int last = first + spec.replicas - 1;
      for (int port = first; port <= last; ++port) {
        std::string owner = who;
        if (spec.replicas > 1)
          owner += " (instance " + std::to_string(port - first) + ", ports " +
                   std::to_string(first) + "-" + std::to_string(last) + ")";
        ports.take("127.0.0.1", static_cast<std::uint16_t>(port), true, owner, parsed.port_mark);
      }
    }
    for (std::size_t i = 0; i < spec.addresses.size(); ++i) {
      const Endpoint& address = spec.addresses[i];
      if (host_class(address.host) != "local") continue;  // another machine's ports
      ports.take(address.host, address.port, false, who + " (address " + address.to_string() + ")",
                 parsed.address_marks[i]);
    }
  }
}

}  // namespace

void validate(const ParsedMesh& mesh, const std::vector<ParsedService>& services) {
  check_names(services);
  check_dependencies(services);
  check_ports(mesh, services);
}

}  // namespace meshd::config::detail
