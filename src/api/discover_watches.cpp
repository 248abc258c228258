#include "discover_watches.hpp"

#include <utility>

namespace meshd::api {

DiscoverWatches::DiscoverWatches(registry::Registry& registry, core::Scheduler& scheduler,
                                 DiscoverCache& cache, std::function<double()> random01)
    : registry_(registry), scheduler_(scheduler), cache_(cache), random01_(std::move(random01)) {}

DiscoverWatches::~DiscoverWatches() {
  for (auto& [id, group] : groups_) {
    if (group->watch) registry_.cancel(group->watch);
    for (auto& m : group->members)
      if (m->timer) scheduler_.cancel(std::exchange(m->timer, 0));
  }
}

std::size_t DiscoverWatches::parked() const {
  std::size_t n = 0;
  for (const auto& [id, group] : groups_) n += group->live;
  return n;
}

// The service's index moved: answer every member.
void DiscoverWatches::wake(const std::string& id) {
  auto it = groups_.find(id);
  if (it == groups_.end()) return;
  auto group = std::move(it->second);
  groups_.erase(it);
  group->watch = 0;
  auto answer = cache_.answer(group->service, group->filter);
  {
    ResponseBatch batch;  // the sends go out together when it closes
    for (auto& m : group->members) {
      if (m->done) continue;
      m->done = true;
      auto respond = std::move(m->respond);
      respond(Response(answer));
    }
  }
  // The wait timers go after every answer is out.
  for (auto& m : group->members)
    if (m->timer) scheduler_.cancel(std::exchange(m->timer, 0));
}

// A member stops waiting (its wait ended, or its client hung up); the
// group goes when its last member does.
void DiscoverWatches::leave(Member& m) {
  if (m.done) return;
  m.done = true;
  auto* group = m.group;
  if (--group->live == 0) {
    registry_.cancel(group->watch);
    groups_.erase(group->id);  // destroys the group
    return;
  }
  // Clients that time out and ask again with the same index join the same
  // group; drop the members that left, now and then.
  if (group->members.size() > 2 * group->live + 64)
    std::erase_if(group->members, [](const std::shared_ptr<Member>& x) { return x->done; });
}

// The wait is over: the answer as it is now.
void DiscoverWatches::end_wait(const std::shared_ptr<Member>& m) {
  m->timer = 0;
  if (m->done) return;
  Response res(cache_.answer(m->group->service, m->group->filter));
  auto answer = std::move(m->respond);
  leave(*m);
  answer(std::move(res));
}

void DiscoverWatches::park(const Request& req, const std::string& service,
                           const DiscoverFilter& filter, std::uint64_t after, core::Duration wait,
                           Respond respond) {
  std::string id = filter.key(service) + '\n' + std::to_string(after);
  auto& slot = groups_[id];
  if (!slot) {
    slot = std::make_shared<Group>();
    slot->id = id;
    slot->service = service;
    slot->filter = filter;
    // Fires at the next change: the caller saw index(service) == after.
    slot->watch = registry_.watch(service, after, [this, id] { wake(id); });
  }
  auto group = slot;
  auto m = std::make_shared<Member>();
  m->respond = std::move(respond);
  m->group = group.get();
  group->members.push_back(m);
  ++group->live;
  // The wait ends with the answer as it is; jitter spreads the wake-ups of
  // many watchers. A client that hangs up first is let go at once.
  auto jitter = core::Duration(
      static_cast<long long>(random01_() * static_cast<double>(wait.count()) / 16.0));
  m->timer = scheduler_.schedule(wait + jitter, [this, m] { end_wait(m); });
  if (req.hangup)
    req.hangup->on_hangup([this, m] {
      if (m->done) return;
      if (m->timer) scheduler_.cancel(std::exchange(m->timer, 0));
      m->respond = nullptr;
      leave(*m);
    });
}

}  // namespace meshd::api
