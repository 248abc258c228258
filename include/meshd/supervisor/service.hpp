#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "meshd/config/types.hpp"
#include "meshd/supervisor/instance.hpp"
#include "meshd/supervisor/log_tail.hpp"

namespace meshd::supervisor {

/// A service of the file: its spec, its instances, its log tail, and what
/// the operator wants of it (running or not).
class Service {
 public:
  Service(const InstanceDeps& deps, std::shared_ptr<const config::ServiceSpec> spec, InstanceObserver& observer);

  const std::string& name() const { return spec_->name; }
  const config::ServiceSpec& spec() const { return *spec_; }
  std::vector<std::unique_ptr<Instance>>& instances() { return instances_; }
  const std::vector<std::unique_ptr<Instance>>& instances() const { return instances_; }
  Instance* find_instance(const std::string& id);
  const Instance* find_instance(const std::string& id) const;
  const std::shared_ptr<LogTail>& logs() const { return tail_; }

  /// The service's state from its instances': running if any runs, else
  /// the most hopeful of starting, backoff, stopping, pending; exited when
  /// all completed; failed when all gave up.
  ProcessState state() const;
  /// passing when every instance passes, warning when some pass (or warn),
  /// critical when none does, unknown before any result.
  health::HealthStatus health() const;
  /// True when at least one instance is passing or warning.
  bool available() const;
  /// Restarts summed over instances.
  int restarts() const;

  /// Whether the operator (or startup) wants it running.
  bool wanted() const { return wanted_; }
  void set_wanted(bool wanted) { wanted_ = wanted; }
  /// The dependencies it is waiting on, when pending.
  const std::vector<std::string>& waiting_on() const { return waiting_on_; }
  void set_waiting_on(std::vector<std::string> deps) { waiting_on_ = std::move(deps); }

 private:
  std::shared_ptr<const config::ServiceSpec> spec_;
  std::shared_ptr<LogTail> tail_;
  std::vector<std::unique_ptr<Instance>> instances_;
  bool wanted_ = false;
  std::vector<std::string> waiting_on_;
};

}  // namespace meshd::supervisor
