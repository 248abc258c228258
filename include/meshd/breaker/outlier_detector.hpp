#pragma once

#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "meshd/config/types.hpp"
#include "meshd/core/clock.hpp"

namespace meshd::breaker {

/// Passive health checking for one service (Envoy's consecutive-5xx outlier
/// detection), fed with the outcome of every real call.
///
/// consecutive_failures failures in a row eject a host for ejection_time x
/// the number of times it has been ejected, capped at max_ejection_time. An
/// ejection is refused when it would take more than max_ejected of the
/// service's hosts out, except that one host may always be ejected when
/// max_ejected > 0 and the service has two or more hosts (so small services
/// are protected too); a lone host is never ejected, since that would only
/// turn its errors into 503s (its circuit breaker covers it). A refused
/// host keeps its count and is ejected on a later failure once room frees.
///
/// An ejected host stays out until its time ends whatever active health
/// checks say; results reported for it meanwhile (calls already in flight)
/// are ignored. The multiplier decays: each ejection_time spent back in
/// rotation without a new ejection takes one off it, so a host that
/// recovered for good starts again from 1x.
class OutlierDetector {
 public:
  explicit OutlierDetector(const config::OutlierDetectionSpec& spec);

  /// The service's hosts. Hosts that stay keep their state; new ones start
  /// clean; removed ones are forgotten.
  void set_hosts(const std::vector<std::string>& ids);
  /// One host joins (clean; a host already there keeps its state) or leaves.
  void add_host(const std::string& id);
  void remove_host(const std::string& id);

  /// Feeds one call's outcome. Returns the end of the ejection when this
  /// result ejected the host. Unknown hosts are ignored.
  std::optional<core::TimePoint> on_result(const std::string& host, bool failure,
                                           core::TimePoint now);

  /// True while `host` is ejected at `now`.
  bool ejected(const std::string& host, core::TimePoint now) const;
  /// End of the host's latest ejection (possibly past), empty if never.
  std::optional<core::TimePoint> ejected_until(const std::string& host) const;
  /// The ejection multiplier: ejections not yet decayed.
  int times_ejected(const std::string& host) const;
  /// Failures in a row since the last success or ejection.
  int consecutive_failures(const std::string& host) const;
  /// Hosts ejected at `now`.
  int ejected_count(core::TimePoint now) const;

  const config::OutlierDetectionSpec& spec() const { return spec_; }

 private:
  struct HostState {
    int consecutive_failures = 0;
    int times_ejected = 0;
    std::optional<core::TimePoint> ejected_until;
    core::TimePoint decay_from{};  // the multiplier decays from here
  };
  void decay(HostState& state, core::TimePoint now) const;
  bool room_to_eject(core::TimePoint now) const;

  config::OutlierDetectionSpec spec_;
  std::unordered_map<std::string, HostState> hosts_;
};

}  // namespace meshd::breaker
