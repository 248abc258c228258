#include "meshd/cluster/singletons.hpp"

#include <spdlog/spdlog.h>

#include "catalog_records.hpp"

namespace meshd::cluster {

using namespace std::chrono_literals;

Singletons::Singletons(EtcdClient& client, core::Scheduler& scheduler, core::EventBus& events,
                       std::string prefix, std::string node, Place place)
    : client_(client),
      scheduler_(scheduler),
      events_(events),
      prefix_(std::move(prefix)),
      node_(std::move(node)),
      place_(std::move(place)) {}

Singletons::~Singletons() = default;

void Singletons::set_services(const std::set<std::string>& names) {
  for (auto it = entries_.begin(); it != entries_.end();) {
    if (names.count(it->first)) {
      ++it;
      continue;
    }
    it->second.campaign.reset();
    if (it->second.leader) client_.resign(*it->second.leader, [](core::Status) {});
    if (it->second.running) stop_running(it->first, it->second, "no longer a singleton here");
    it = entries_.erase(it);
  }
  for (const auto& name : names)
    if (!entries_.count(name)) {
      auto& e = entries_[name];
      e.retry = std::make_unique<core::Timer>(scheduler_);
      campaign(name);
    }
}

void Singletons::granted(std::int64_t lease) {
  lease_ = lease;
  fenced_ = false;
  for (auto& [name, e] : entries_) {
    e.leader.reset();
    e.campaign.reset();
    campaign(name);
  }
}

void Singletons::fenced() {
  fenced_ = true;
  for (auto& [name, e] : entries_) {
    e.campaign.reset();
    e.retry->cancel();
    if (e.running) stop_running(name, e, "this node's lease was not renewed in time (fenced)");
  }
}

void Singletons::renewed() {
  fenced_ = false;
  for (auto& [name, e] : entries_) campaign(name);
}

bool Singletons::leads(const std::string& service) const {
  auto it = entries_.find(service);
  return it != entries_.end() && it->second.running;
}

void Singletons::campaign(const std::string& service) {
  auto it = entries_.find(service);
  if (it == entries_.end() || lease_ == 0 || fenced_ || it->second.campaign) return;
  std::int64_t lease = lease_;
  it->second.campaign = client_.campaign(
      singleton_name(prefix_, service), lease, node_,
      [this, service, lease](core::Result<LeaderKey> won) {
        auto e = entries_.find(service);
        if (e == entries_.end()) return;
        // Drop the finished stream on the next turn, not inside its callback.
        scheduler_.post([this, service] {
          if (auto again = entries_.find(service);
              again != entries_.end() && !again->second.running)
            again->second.campaign.reset();
        });
        if (lease != lease_ || fenced_) return;
        if (!won) {
          spdlog::warn("cluster: election for singleton '{}' failed ({}): trying again", service,
                       won.error().message);
          e->second.retry->arm(1000ms, [this, service] {
            if (auto again = entries_.find(service); again != entries_.end()) {
              again->second.campaign.reset();
              campaign(service);
            }
          });
          return;
        }
        e->second.leader = *won;
        if (e->second.running) return;
        e->second.running = true;
        events_.publish("singleton.elected", service, "",
                        "this node (" + node_ + ") was elected to run singleton " + service,
                        {{"node", node_}});
        place_(service, true);
      });
}

void Singletons::stop_running(const std::string& service, Entry& entry, const std::string& why) {
  entry.running = false;
  events_.publish("singleton.fenced", service, "",
                  "singleton " + service + " stops on this node (" + node_ + "): " + why,
                  {{"node", node_}});
  place_(service, false);
}

}  // namespace meshd::cluster
