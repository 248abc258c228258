#include "meshd/core/asio_scheduler.hpp"

#include <boost/asio/post.hpp>

namespace meshd::core {

AsioScheduler::~AsioScheduler() {
  for (auto& [id, timer] : timers_) timer->cancel();
}

Scheduler::TimerId AsioScheduler::schedule(Duration delay, std::function<void()> fn) {
  TimerId id = next_id_++;
  auto timer = std::make_unique<boost::asio::steady_timer>(io_, delay);
  timer->async_wait([this, id, fn = std::move(fn)](const boost::system::error_code& ec) {
    if (ec) return;  // cancelled: the timer may already be gone
    timers_.erase(id);
    fn();
  });
  timers_.emplace(id, std::move(timer));
  return id;
}

void AsioScheduler::cancel(TimerId id) {
  auto it = timers_.find(id);
  if (it == timers_.end()) return;
  it->second->cancel();
  // The completion handler runs later with operation_aborted; the timer
  // object must outlive it, so hand ownership to the handler's queue.
  auto timer = std::shared_ptr<boost::asio::steady_timer>(std::move(it->second));
  timers_.erase(it);
  boost::asio::post(io_, [timer] {});
}

void AsioScheduler::post(std::function<void()> fn) {
  boost::asio::post(io_, std::move(fn));
}

}  // namespace meshd::core
