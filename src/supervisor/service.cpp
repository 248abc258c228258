#include "meshd/supervisor/service.hpp"

namespace meshd::supervisor {

Service::Service(const InstanceDeps& deps, std::shared_ptr<const config::ServiceSpec> spec,
                 InstanceObserver& observer)
    : spec_(std::move(spec)), tail_(std::make_shared<LogTail>()) {
  for (int i = 0; i < spec_->instance_count(); ++i)
    instances_.push_back(std::make_unique<Instance>(deps, spec_, i, tail_, observer));
}

void Service::set_spec(std::shared_ptr<const config::ServiceSpec> spec, bool instances_too) {
  spec_ = std::move(spec);
  if (instances_too)
    for (auto& i : instances_) i->set_spec(spec_);
}

Instance& Service::add_instance(const InstanceDeps& deps,
                                std::shared_ptr<const config::ServiceSpec> spec, int index,
                                InstanceOptions options, InstanceObserver& observer) {
  auto instance =
      std::make_unique<Instance>(deps, std::move(spec), index, tail_, observer, options);
  Instance& ref = *instance;
  auto at = instances_.begin();
  while (at != instances_.end() &&
         ((*at)->index() < index ||
          ((*at)->index() == index && (*at)->generation() < options.generation)))
    ++at;
  instances_.insert(at, std::move(instance));
  return ref;
}

void Service::erase_instance(const Instance* instance) {
  for (auto it = instances_.begin(); it != instances_.end(); ++it)
    if (it->get() == instance) {
      instances_.erase(it);
      return;
    }
}

Instance* Service::find_instance(const std::string& id) {
  for (auto& i : instances_)
    if (i->id() == id) return i.get();
  return nullptr;
}

const Instance* Service::find_instance(const std::string& id) const {
  for (const auto& i : instances_)
    if (i->id() == id) return i.get();
  return nullptr;
}

ProcessState Service::state() const {
  if (instances_.empty()) return ProcessState::stopped;
  auto any = [&](ProcessState s) {
    for (const auto& i : instances_)
      if (i->state() == s) return true;
    return false;
  };
  auto all = [&](ProcessState s) {
    for (const auto& i : instances_)
      if (i->state() != s) return false;
    return true;
  };
  for (ProcessState s : {ProcessState::running, ProcessState::starting, ProcessState::backoff,
                         ProcessState::stopping, ProcessState::pending})
    if (any(s)) return s;
  if (any(ProcessState::elsewhere)) return ProcessState::elsewhere;
  if (all(ProcessState::exited)) return ProcessState::exited;
  if (any(ProcessState::failed)) return ProcessState::failed;
  if (any(ProcessState::exited) && !any(ProcessState::stopped)) return ProcessState::exited;
  return ProcessState::stopped;
}

health::HealthStatus Service::health() const {
  int passing = 0, warning = 0, critical = 0;
  for (const auto& i : instances_) {
    switch (i->health()) {
      case health::HealthStatus::passing:
        ++passing;
        break;
      case health::HealthStatus::warning:
        ++warning;
        break;
      case health::HealthStatus::critical:
        ++critical;
        break;
      case health::HealthStatus::unknown:
        break;
    }
  }
  int n = static_cast<int>(instances_.size());
  if (n > 0 && passing == n) return health::HealthStatus::passing;
  if (passing + warning > 0) return health::HealthStatus::warning;
  if (critical > 0) return health::HealthStatus::critical;
  return health::HealthStatus::unknown;
}

bool Service::available() const {
  for (const auto& i : instances_)
    if (i->health() == health::HealthStatus::passing ||
        i->health() == health::HealthStatus::warning)
      return true;
  return false;
}

bool Service::serving() const {
  for (const auto& i : instances_)
    if (!i->retired() && has_process(i->state()) &&
        (i->health() == health::HealthStatus::passing ||
         i->health() == health::HealthStatus::warning))
      return true;
  return false;
}

int Service::restarts() const {
  int total = 0;
  for (const auto& i : instances_) total += i->restarts();
  return total;
}

}  // namespace meshd::supervisor
