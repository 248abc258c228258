#pragma once
// Private to the api module: not part of meshd's public headers (include/meshd/).

// GET /api/v1/discover's answers, serialised once.

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>

#include "meshd/api/http_types.hpp"
#include "meshd/registry/registry.hpp"

namespace meshd::api {

/// Which instances of a service a discover query asks for.
struct DiscoverFilter {
  std::string tag;       // only instances with this tag; empty: any
  bool passing = false;  // only instances in rotation and passing their check

  /// The filter with its service, as a cache key: "service\ntag\npassing".
  std::string key(const std::string& service) const {
    return service + '\n' + tag + '\n' + (passing ? "1" : "0");
  }
};

/// The answers to discover queries, each serialised once per (service,
/// index, filter): a blocking query's watchers all wake at the same index,
/// and repeated reads of a big service cost one serialisation instead of
/// one per request. Every answer shares the bytes. Each instance's part is
/// kept too, valid for one revision of its record, so that after one
/// instance of a 5,000-instance service changes the next answer serialises
/// that one instance and copies the rest.
class DiscoverCache {
 public:
  /// `stale` says whether the catalog is the last one known (the cluster's
  /// etcd cannot be reached); answers carry it as "stale". Empty: never.
  DiscoverCache(const registry::Registry& registry, std::function<bool()> stale = {})
      : registry_(registry), stale_(std::move(stale)) {}

  /// The answer at the service's current index (X-Mesh-Index shows it).
  std::shared_ptr<const PreparedResponse> answer(const std::string& service,
                                                 const DiscoverFilter& filter);

 private:
  struct Answer {
    std::shared_ptr<const PreparedResponse> response;
    std::uint64_t index = 0;
    bool stale = false;  // a flip rebuilds the answer at the same index
  };
  struct InstanceFragment {
    std::uint64_t revision = 0;
    bool in_rotation = false;
    bool passing = false;  // health passing (the passing=true filter wants both)
    std::string json;
  };

  std::string body(const std::string& service, std::uint64_t index, const DiscoverFilter& filter,
                   bool stale);

  const registry::Registry& registry_;
  std::function<bool()> stale_;
  std::map<std::string, Answer> answers_;                        // by DiscoverFilter::key()
  std::unordered_map<std::string, InstanceFragment> fragments_;  // by instance id
};

}  // namespace meshd::api
