#include "discover_cache.hpp"

#include <algorithm>

#include "meshd/registry/rotation.hpp"

namespace meshd::api {

// {"index":N,"instances":[...],"service":"name","stale":false} (the key
// order nlohmann::json gives): the concatenation of the instances' fragments.
std::string DiscoverCache::body(const std::string& service, std::uint64_t index,
                                const DiscoverFilter& filter, bool stale) {
  auto instances = registry_.instances(service);
  std::string out = "{\"index\":" + std::to_string(index) + ",\"instances\":[";
  out.reserve(out.size() + 200 * instances.size() + service.size() + 32);
  bool first = true;
  for (const auto* r : instances) {
    if (!filter.tag.empty() &&
        std::find(r->tags.begin(), r->tags.end(), filter.tag) == r->tags.end())
      continue;
    auto& f = fragments_[r->id];
    if (f.json.empty() || f.revision != r->revision) {
      f.revision = r->revision;
      f.in_rotation = registry::rotation_reasons(*r, registry_.overrides(r->id)).empty();
      f.passing = r->health == health::HealthStatus::passing;
      f.json = nlohmann::json({{"id", r->id},
                               {"service", r->service},
                               {"address", r->address},
                               {"port", r->port},
                               {"tags", r->tags},
                               {"metadata", r->metadata},
                               {"weight", r->weight},
                               {"health", health::to_string(r->health)},
                               {"origin", registry::to_string(r->origin)},
                               {"node", r->node},
                               {"in_rotation", f.in_rotation}})
                   .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    }
    if (filter.passing && !(f.in_rotation && f.passing)) continue;
    if (!first) out += ',';
    first = false;
    out += f.json;
  }
  out += "],\"service\":";
  out += nlohmann::json(service).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  out += stale ? ",\"stale\":true}" : ",\"stale\":false}";
  // Fragments of instances that are gone go now and then.
  if (fragments_.size() > 2 * registry_.size() + 256)
    std::erase_if(fragments_,
                  [this](const auto& entry) { return registry_.find(entry.first) == nullptr; });
  return out;
}

std::shared_ptr<const PreparedResponse> DiscoverCache::answer(const std::string& service,
                                                              const DiscoverFilter& filter) {
  auto current = registry_.index(service);
  auto key = filter.key(service);
  if (answers_.size() > 512 && !answers_.count(key)) answers_.clear();  // tags are caller-chosen
  auto& entry = answers_[key];
  bool stale = stale_ && stale_();
  if (!entry.response || entry.index != current || entry.stale != stale) {
    Response res;
    res.body = body(service, current, filter, stale);  // the same index as the header
    res.headers.emplace_back("X-Mesh-Index", std::to_string(current));
    entry.response = prepare_response(std::move(res));
    entry.index = current;
    entry.stale = stale;
  }
  return entry.response;
}

}  // namespace meshd::api
