#include "meshd/api/outbound_queue.hpp"

#include <nlohmann/json.hpp>

namespace meshd::api {
namespace {

std::shared_ptr<const std::string> marker_text(const std::string& topic, std::int64_t seq,
                                               std::uint64_t count) {
  nlohmann::json j = {
      {"type", topic}, {"seq", seq}, {"key", "dropped"}, {"data", {{"dropped", count}}}};
  return std::make_shared<const std::string>(
      j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

}  // namespace

OutboundQueue::OutboundQueue(QueueLimits limits) : limits_(limits) {}

bool OutboundQueue::fits(std::size_t size, double share) const {
  // An empty queue takes any one message, so that a snapshot larger than
  // the byte bound (a very large mesh) can still be sent.
  if (entries_.empty()) return true;
  auto max_messages = static_cast<double>(limits_.max_messages) * share;
  auto max_bytes = static_cast<double>(limits_.max_bytes) * share;
  return static_cast<double>(entries_.size() + 1) <= max_messages &&
         static_cast<double>(bytes_ + size) <= max_bytes;
}

void OutboundQueue::append(Entry entry) {
  bytes_ += entry.text->size();
  entries_.push_back(std::move(entry));
}

OutboundQueue::Iterator OutboundQueue::erase(Iterator it) {
  bytes_ -= it->text->size();
  return entries_.erase(it);
}

PushResult OutboundQueue::push(const OutboundMessage& message, core::TimePoint now) {
  std::size_t size = message.text->size();
  if (message.snapshot) {
    // Deltas after this snapshot go after it, not into older entries.
    std::string prefix = message.topic + '\n';
    for (auto it = by_key_.lower_bound(prefix);
         it != by_key_.end() && it->first.starts_with(prefix);)
      it = by_key_.erase(it);
  }
  std::string map_key = message.key.empty() ? std::string() : message.topic + '\n' + message.key;
  if (!map_key.empty()) {
    if (auto it = by_key_.find(map_key); it != by_key_.end()) {
      auto& entry = *it->second;
      bytes_ = bytes_ - entry.text->size() + size;
      entry.text = message.text;
      return PushResult::coalesced;
    }
  }
  if (message.droppable) {
    if (!fits(size, limits_.droppable_share)) {
      note_dropped(message.topic, message.seq, now);
      return PushResult::dropped;
    }
  } else if (!fits(size, 1.0)) {
    evict_droppable(size, message.seq, now);
    if (!fits(size, 1.0)) return PushResult::overflow;
  }
  append(Entry{message.text, message.topic, map_key, message.droppable, now});
  auto last = std::prev(entries_.end());
  if (!map_key.empty()) by_key_[map_key] = last;
  if (message.droppable) droppable_.push_back(last);
  return PushResult::queued;
}

void OutboundQueue::evict_droppable(std::size_t size, std::int64_t seq, core::TimePoint now) {
  while (!droppable_.empty() && !fits(size, 1.0)) {
    auto it = droppable_.front();
    droppable_.pop_front();
    std::string topic = it->topic;
    erase(it);
    note_dropped(topic, seq, now);
  }
}

void OutboundQueue::note_dropped(const std::string& topic, std::int64_t seq, core::TimePoint now) {
  ++dropped_total_;
  auto it = markers_.find(topic);
  if (it != markers_.end()) {
    auto& entry = *it->second.entry;
    auto text = marker_text(topic, seq, ++it->second.count);
    bytes_ = bytes_ - entry.text->size() + text->size();
    entry.text = std::move(text);
    return;
  }
  // The marker may go one past the bounds: at most one per topic.
  append(Entry{marker_text(topic, seq, 1), topic, std::string(), false, now});
  markers_[topic] = Marker{std::prev(entries_.end()), 1};
}

std::shared_ptr<const std::string> OutboundQueue::begin_write() {
  if (writing_ || entries_.empty()) return nullptr;
  auto front = entries_.begin();
  if (!front->map_key.empty()) {
    auto it = by_key_.find(front->map_key);
    if (it != by_key_.end() && it->second == front) by_key_.erase(it);
  }
  if (!droppable_.empty() && droppable_.front() == front) droppable_.pop_front();
  auto marker = markers_.find(front->topic);
  if (marker != markers_.end() && marker->second.entry == front) markers_.erase(marker);
  writing_ = true;
  return front->text;
}

void OutboundQueue::end_write() {
  if (!writing_) return;
  writing_ = false;
  if (!entries_.empty()) erase(entries_.begin());
}

bool OutboundQueue::stalled(core::TimePoint now) const {
  return !entries_.empty() && now - entries_.front().queued_at > limits_.max_behind;
}

void OutboundQueue::clear() {
  by_key_.clear();
  droppable_.clear();
  markers_.clear();
  auto keep = writing_ && !entries_.empty() ? std::next(entries_.begin()) : entries_.begin();
  while (keep != entries_.end()) keep = erase(keep);
}

}  // namespace meshd::api
