#pragma once

// meshd's SQLite file (WAL) under data_dir: the event history, externally
// registered instances, operator overrides and applied config versions.
//
// Writes are queued and run in order on one writer thread so that the event
// loop never waits for the disk; reads that callers need on the loop are
// small indexed queries on a second, read-only connection (WAL lets them run
// beside the writer).

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace meshd::store {

/// One persisted event (see core::Event).
struct EventRecord {
  std::int64_t seq = 0;      // strictly increasing, assigned by the caller
  std::int64_t time_ms = 0;  // Unix milliseconds
  std::string type;          // e.g. "service.state", "health.transition"
  std::string service;       // may be empty
  std::string instance;      // may be empty
  std::string message;       // one line for operators
  std::string data_json;     // JSON object text, "{}" when nothing more
};

/// One applied configuration.
struct ConfigVersion {
  std::int64_t version = 0;
  std::int64_t time_ms = 0;
  std::string source;  // the YAML text as applied
  std::string note;    // e.g. "startup", "reload", "rollback to 3"
};

/// Limits for Database::open. The defaults suit the daemon; tests shrink them.
struct DatabaseOptions {
  /// Writes waiting for the writer thread beyond this many are dropped and
  /// counted, so that a slow disk never blocks the event loop.
  std::size_t queue_capacity = 100'000;
  /// The events table keeps about this many newest events; the writer prunes
  /// older ones now and then so that the file stays bounded.
  std::int64_t retained_events = 100'000;
};

class Database {
 public:
  /// Opens (creating if needed) the database at `path`, creating its
  /// directory, enabling WAL and creating the schema. Throws
  /// std::runtime_error with a clear message when the file cannot be used.
  static std::unique_ptr<Database> open(const std::string& path, DatabaseOptions options = {});
  virtual ~Database() = default;

  // --- writes: queued, applied in order on the writer thread ---------------
  virtual void append_event(EventRecord event) = 0;
  /// Stores `value_json` under (kind, key), replacing any previous value.
  /// Kinds in use: "registration", "override".
  virtual void put(const std::string& kind, const std::string& key, std::string value_json) = 0;
  virtual void erase(const std::string& kind, const std::string& key) = 0;
  virtual void append_config(ConfigVersion version) = 0;
  /// Blocks until every write queued before this call is on disk.
  virtual void flush() = 0;

  // --- reads: synchronous, see the note above --------------------------------
  /// Events with seq > `since`, oldest first, at most `limit`.
  virtual std::vector<EventRecord> events_since(std::int64_t since, int limit) = 0;
  /// The highest event seq on disk, 0 when there is none.
  virtual std::int64_t last_event_seq() = 0;
  /// Every (key, value_json) of `kind`, ordered by key.
  virtual std::vector<std::pair<std::string, std::string>> load(const std::string& kind) = 0;
  /// Applied configs, newest first, at most `limit`.
  virtual std::vector<ConfigVersion> config_history(int limit) = 0;
  /// How many writes have been lost: dropped because the write queue was
  /// full, or refused by SQLite (logged).
  virtual std::uint64_t dropped_writes() const = 0;
};

}  // namespace meshd::store
