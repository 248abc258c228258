#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <list>
#include <map>
#include <memory>
#include <string>

#include "meshd/core/clock.hpp"

namespace meshd::api {

/// Bounds of one WebSocket client's outbound queue.
struct QueueLimits {
  std::size_t max_messages = 1024;
  std::size_t max_bytes = 4 * 1024 * 1024;
  /// A client whose oldest undelivered message is older than this is behind
  /// for good and gets dropped.
  core::Duration max_behind{5000};
  /// Droppable messages (log lines) are only queued while the queue is
  /// below this share of both bounds, so they never crowd out state.
  double droppable_share = 0.75;
};

/// One message on its way to a client. The text is serialised once per
/// broadcast and shared by every client's queue.
struct OutboundMessage {
  std::shared_ptr<const std::string> text;
  std::string topic;
  /// Coalescing key within the topic; empty means never coalesced.
  std::string key;
  /// May be dropped (and counted) when the client is behind: log lines.
  bool droppable = false;
  /// A snapshot of `topic`: later deltas of the topic must not coalesce
  /// into entries queued before it, or a client would apply them and then
  /// have the older snapshot overwrite them.
  bool snapshot = false;
  /// The stream sequence, quoted in a "dropped" marker.
  std::int64_t seq = 0;
};

/// What push() did with a message.
enum class PushResult {
  queued,     // appended at the back
  coalesced,  // replaced the queued message with the same (topic, key) in place
  dropped,    // a droppable message was not queued (counted in a marker)
  overflow,   // no room even after dropping log lines: the client must go
};

/// A WebSocket client's bounded outbound queue, without any I/O so that it
/// is unit-testable. Only the front message is ever being written; any
/// other queued message with a key is replaced in place by a newer message
/// with the same (topic, key), so a slow client gets the latest state of
/// each key rather than every intermediate one. Log lines go first when
/// room runs out; dropping them leaves one {"dropped": N} marker per topic,
/// which itself coalesces.
class OutboundQueue {
 public:
  explicit OutboundQueue(QueueLimits limits = {});

  PushResult push(const OutboundMessage& message, core::TimePoint now);

  /// The front message, now being written (so no longer coalesced into or
  /// dropped); null when the queue is empty or a write is in flight.
  std::shared_ptr<const std::string> begin_write();
  /// The write started by begin_write() is done; its message leaves.
  void end_write();
  bool writing() const { return writing_; }

  /// True when the oldest undelivered message (including the one being
  /// written) was queued more than max_behind before `now`.
  bool stalled(core::TimePoint now) const;

  /// Forgets every message (a dropped client); a write in flight may still
  /// call end_write().
  void clear();

  bool empty() const { return entries_.empty(); }
  std::size_t size() const { return entries_.size(); }
  std::size_t bytes() const { return bytes_; }
  /// Log lines dropped so far, over the queue's life.
  std::uint64_t dropped_total() const { return dropped_total_; }
  const QueueLimits& limits() const { return limits_; }

 private:
  struct Entry {
    std::shared_ptr<const std::string> text;
    std::string topic;
    std::string map_key;  // topic + '\n' + key; empty when not coalescable
    bool droppable = false;
    core::TimePoint queued_at;
  };
  using Iterator = std::list<Entry>::iterator;
  struct Marker {
    Iterator entry;
    std::uint64_t count = 0;
  };

  bool fits(std::size_t size, double share) const;
  void append(Entry entry);
  Iterator erase(Iterator it);
  void note_dropped(const std::string& topic, std::int64_t seq, core::TimePoint now);
  void evict_droppable(std::size_t size, std::int64_t seq, core::TimePoint now);

  QueueLimits limits_;
  std::list<Entry> entries_;
  std::size_t bytes_ = 0;
  bool writing_ = false;
  bool cleared_while_writing_ = false;
  std::map<std::string, Iterator> by_key_;  // coalescable entries not being written
  std::deque<Iterator> droppable_;          // queued droppable entries, oldest first
  std::map<std::string, Marker> markers_;   // "dropped" markers not yet being written
  std::uint64_t dropped_total_ = 0;
};

}  // namespace meshd::api
