#include "meshd/config/graph.hpp"

#include <algorithm>
#include <deque>
#include <map>

#include "cycle.hpp"

namespace meshd::config {

namespace detail {

namespace {

enum class Visit { unseen, on_path, done };

bool walk(const Config& config, const ServiceSpec& service, std::map<std::string, Visit>& visits,
          std::vector<std::string>& path) {
  visits[service.name] = Visit::on_path;
  path.push_back(service.name);
  for (const auto& dep : service.depends_on) {
    const ServiceSpec* next = config.find(dep.service);
    if (!next) continue;
    Visit visit = visits[next->name];
    if (visit == Visit::on_path) {
      // Keep only the loop itself, not the approach to it.
      path.erase(path.begin(), std::find(path.begin(), path.end(), next->name));
      path.push_back(next->name);
      return true;
    }
    if (visit == Visit::unseen && walk(config, *next, visits, path)) return true;
  }
  visits[service.name] = Visit::done;
  path.pop_back();
  return false;
}

}  // namespace

std::vector<std::string> find_cycle_path(const Config& config) {
  std::map<std::string, Visit> visits;
  for (const auto& service : config.services) {
    std::vector<std::string> path;
    if (visits[service.name] == Visit::unseen && walk(config, service, visits, path)) return path;
  }
  return {};
}

}  // namespace detail

std::vector<std::vector<std::string>> start_waves(const Config& config) {
  constexpr int unplaced = -1;
  std::map<std::string, int> wave_of;  // every known service; its wave once placed
  for (const auto& service : config.services) wave_of[service.name] = unplaced;
  std::vector<std::vector<std::string>> waves;
  std::size_t placed = 0;
  while (placed < config.services.size()) {
    const int index = static_cast<int>(waves.size());
    std::vector<std::string> wave;
    for (const auto& service : config.services) {
      if (wave_of[service.name] != unplaced) continue;
      bool ready = std::all_of(service.depends_on.begin(), service.depends_on.end(),
                               [&](const Dependency& dep) {
                                 auto it = wave_of.find(dep.service);
                                 if (it == wave_of.end()) return true;  // unknown: ignored
                                 return it->second != unplaced && it->second < index;
                               });
      if (ready) wave.push_back(service.name);
    }
    if (wave.empty()) {
      // Only a cycle gets here; keep every service rather than lose some.
      for (const auto& service : config.services)
        if (wave_of[service.name] == unplaced) wave.push_back(service.name);
    }
    for (const auto& name : wave) wave_of[name] = index;
    placed += wave.size();
    waves.push_back(std::move(wave));
  }
  return waves;
}

std::string find_cycle(const Config& config) {
  std::string out;
  for (const auto& name : detail::find_cycle_path(config)) {
    if (!out.empty()) out += " -> ";
    out += name;
  }
  return out;
}

std::set<std::string> dependency_closure(const Config& config,
                                         const std::vector<std::string>& names) {
  std::set<std::string> closure(names.begin(), names.end());
  std::deque<std::string> queue(names.begin(), names.end());
  while (!queue.empty()) {
    const ServiceSpec* service = config.find(queue.front());
    queue.pop_front();
    if (!service) continue;
    for (const auto& dep : service->depends_on)
      if (closure.insert(dep.service).second) queue.push_back(dep.service);
  }
  return closure;
}

std::set<std::string> dependents_of(const Config& config, const std::string& name) {
  std::set<std::string> found;
  std::deque<std::string> queue{name};
  while (!queue.empty()) {
    const std::string current = queue.front();
    queue.pop_front();
    for (const auto& service : config.services) {
      bool depends = std::any_of(service.depends_on.begin(), service.depends_on.end(),
                                 [&](const Dependency& dep) { return dep.service == current; });
      if (depends && service.name != name && found.insert(service.name).second)
        queue.push_back(service.name);
    }
  }
  return found;
}

Config select_services(const Config& config, const std::set<std::string>& names) {
  Config out = config;
  std::erase_if(out.services,
                [&](const ServiceSpec& service) { return !names.contains(service.name); });
  return out;
}

}  // namespace meshd::config
