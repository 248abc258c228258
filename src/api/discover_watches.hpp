#pragma once
// Private to the api module: not part of meshd's public headers (include/meshd/).

// the blocking discover queries parked now.

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "discover_cache.hpp"
#include "meshd/api/http_types.hpp"
#include "meshd/core/scheduler.hpp"
#include "meshd/registry/registry.hpp"

namespace meshd::api {

/// The blocking discover queries (?index=N&wait=...), parked in groups that
/// share a service, a filter and an index: one registry watch for each
/// group, and when it fires, one answer (from the DiscoverCache), sent to
/// every member in one ResponseBatch. Consul clients ask again with the
/// index they were last given, so a thousand watchers of a service are one
/// group, whose wake-up costs a send per watcher and little else.
class DiscoverWatches {
 public:
  /// `random01` jitters each wait by up to 1/16 of it, so that many
  /// watchers whose waits end do not all ask again at once.
  DiscoverWatches(registry::Registry& registry, core::Scheduler& scheduler, DiscoverCache& cache,
                  std::function<double()> random01);
  /// Cancels the registry watches and the wait timers still pending.
  ~DiscoverWatches();
  DiscoverWatches(const DiscoverWatches&) = delete;
  DiscoverWatches& operator=(const DiscoverWatches&) = delete;

  /// Answers `respond` when the service's index moves past `after` (the
  /// caller saw index(service) == after) or when `wait` ends, whichever
  /// comes first; a client that hangs up first (`req.hangup`) is let go.
  void park(const Request& req, const std::string& service, const DiscoverFilter& filter,
            std::uint64_t after, core::Duration wait, Respond respond);
  /// Queries waiting now (for /metrics).
  std::size_t parked() const;

 private:
  struct Group;
  struct Member {
    Respond respond;
    core::Scheduler::TimerId timer = 0;
    Group* group = nullptr;  // valid while !done
    bool done = false;
  };
  struct Group {
    std::string id;  // its key in groups_
    std::string service;
    DiscoverFilter filter;
    registry::Registry::WatchId watch = 0;
    std::vector<std::shared_ptr<Member>> members;
    std::size_t live = 0;  // members not done
  };

  void wake(const std::string& id);
  void leave(Member& member);
  void end_wait(const std::shared_ptr<Member>& member);

  registry::Registry& registry_;
  core::Scheduler& scheduler_;
  DiscoverCache& cache_;
  std::function<double()> random01_;
  std::map<std::string, std::shared_ptr<Group>> groups_;
};

}  // namespace meshd::api
