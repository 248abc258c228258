#include "upstream_pool.hpp"

#include <sys/socket.h>

#include <algorithm>
#include <cerrno>

namespace meshd::gateway {
namespace {

// An idle keep-alive connection should have nothing to read; EOF or an
// error means the instance closed it (or restarted).
bool still_open(UpstreamConnection& c) {
  auto& socket = c.socket;
  if (!socket.is_open()) return false;
  char byte;
  ssize_t n = ::recv(socket.native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  if (n == 0) return false;
  if (n < 0) return errno == EAGAIN || errno == EWOULDBLOCK;
  return false;  // unexpected bytes: not safe to reuse
}

}  // namespace

std::unique_ptr<UpstreamConnection> UpstreamPool::take(std::string_view key, core::TimePoint now) {
  auto it = idle_.find(key);
  if (it == idle_.end()) return nullptr;
  auto& list = it->second;
  while (!list.empty()) {
    auto c = std::move(list.back());
    list.pop_back();
    if (now - c->idle_since < std::chrono::seconds(1) || still_open(*c)) return c;
  }
  return nullptr;
}

void UpstreamPool::put(std::unique_ptr<UpstreamConnection> connection, core::TimePoint now) {
  auto it = idle_.find(connection->key);
  if (it == idle_.end()) it = idle_.try_emplace(connection->key).first;
  auto& list = it->second;
  connection->idle_since = now;
  connection->buffer.clear();
  list.push_back(std::move(connection));
  if (list.size() > max_idle_per_key_) list.erase(list.begin());  // the oldest
}

void UpstreamPool::sweep(core::TimePoint now) {
  for (auto it = idle_.begin(); it != idle_.end();) {
    auto& list = it->second;
    auto fresh = std::find_if(list.begin(), list.end(),
                              [&](const auto& c) { return now - c->idle_since <= max_idle_; });
    list.erase(list.begin(), fresh);
    it = list.empty() ? idle_.erase(it) : std::next(it);
  }
}

void UpstreamPool::clear() {
  idle_.clear();
}

std::size_t UpstreamPool::idle() const {
  std::size_t n = 0;
  for (const auto& [k, list] : idle_) n += list.size();
  return n;
}

}  // namespace meshd::gateway
