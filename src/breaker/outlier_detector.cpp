#include "meshd/breaker/outlier_detector.hpp"

#include <algorithm>
#include <cmath>

namespace meshd::breaker {

OutlierDetector::OutlierDetector(const config::OutlierDetectionSpec& spec) : spec_(spec) {}

void OutlierDetector::set_hosts(const std::vector<std::string>& ids) {
  std::unordered_map<std::string, HostState> next;
  for (const std::string& id : ids) {
    auto it = hosts_.find(id);
    next.emplace(id, it != hosts_.end() ? it->second : HostState{});
  }
  hosts_ = std::move(next);
}

void OutlierDetector::add_host(const std::string& id) {
  hosts_.try_emplace(id);
}

void OutlierDetector::remove_host(const std::string& id) {
  hosts_.erase(id);
}

void OutlierDetector::decay(HostState& state, core::TimePoint now) const {
  if (state.times_ejected == 0 || now <= state.decay_from) return;
  const core::Duration period = std::max(spec_.ejection_time, core::Duration(1));
  const auto steps = (now - state.decay_from) / period;
  if (steps <= 0) return;
  state.times_ejected = static_cast<int>(std::max<decltype(steps)>(0, state.times_ejected - steps));
  state.decay_from += steps * period;
}

bool OutlierDetector::room_to_eject(core::TimePoint now) const {
  const auto hosts = static_cast<double>(hosts_.size());
  if (spec_.max_ejected <= 0.0 || hosts_.size() < 2) return false;
  // The small epsilon keeps 0.3 x 10 from flooring to 2.
  const int allowed = std::max(1, static_cast<int>(std::floor(spec_.max_ejected * hosts + 1e-9)));
  return ejected_count(now) < allowed;
}

std::optional<core::TimePoint> OutlierDetector::on_result(const std::string& host, bool failure,
                                                          core::TimePoint now) {
  if (!spec_.enabled) return std::nullopt;
  auto it = hosts_.find(host);
  if (it == hosts_.end()) return std::nullopt;
  HostState& s = it->second;
  if (s.ejected_until && now < *s.ejected_until) return std::nullopt;  // in flight when ejected
  decay(s, now);
  if (!failure) {
    s.consecutive_failures = 0;
    return std::nullopt;
  }
  if (++s.consecutive_failures < spec_.consecutive_failures || !room_to_eject(now))
    return std::nullopt;

  ++s.times_ejected;
  const core::Duration cap = std::max(spec_.max_ejection_time, spec_.ejection_time);
  // Multiply in steps so a large count cannot overflow before the cap.
  core::Duration length = spec_.ejection_time;
  for (int i = 1; i < s.times_ejected && length < cap; ++i) length += spec_.ejection_time;
  length = std::min(length, cap);
  s.ejected_until = now + length;
  s.decay_from = *s.ejected_until;
  s.consecutive_failures = 0;
  return s.ejected_until;
}

bool OutlierDetector::ejected(const std::string& host, core::TimePoint now) const {
  auto it = hosts_.find(host);
  return it != hosts_.end() && it->second.ejected_until && now < *it->second.ejected_until;
}

std::optional<core::TimePoint> OutlierDetector::ejected_until(const std::string& host) const {
  auto it = hosts_.find(host);
  return it == hosts_.end() ? std::nullopt : it->second.ejected_until;
}

int OutlierDetector::times_ejected(const std::string& host) const {
  auto it = hosts_.find(host);
  return it == hosts_.end() ? 0 : it->second.times_ejected;
}

int OutlierDetector::consecutive_failures(const std::string& host) const {
  auto it = hosts_.find(host);
  return it == hosts_.end() ? 0 : it->second.consecutive_failures;
}

int OutlierDetector::ejected_count(core::TimePoint now) const {
  return static_cast<int>(std::count_if(hosts_.begin(), hosts_.end(), [now](const auto& entry) {
    return entry.second.ejected_until && now < *entry.second.ejected_until;
  }));
}

}  // namespace meshd::breaker
