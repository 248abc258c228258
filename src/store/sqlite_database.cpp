#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Exception.h>
#include <SQLiteCpp/Statement.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <filesystem>
#include <mutex>
#include <stdexcept>
#include <system_error>
#include <thread>
#include <type_traits>
#include <variant>

#include "meshd/store/database.hpp"
#include "schema.hpp"

namespace meshd::store {
namespace {

struct PutWrite {
  std::string kind;
  std::string key;
  std::string value_json;
};

struct EraseWrite {
  std::string kind;
  std::string key;
};

using Write = std::variant<EventRecord, PutWrite, EraseWrite, ConfigVersion>;

// Statements the writer runs for every queued write, prepared once on the
// writer's connection.
struct WriteStatements {
  explicit WriteStatements(SQLite::Database& db)
      : insert_event(db,
                     "INSERT INTO events(seq, time_ms, type, service, instance, message, data_json)"
                     " VALUES (?, ?, ?, ?, ?, ?, ?)"),
        put(db, "INSERT OR REPLACE INTO kv(kind, key, value_json) VALUES (?, ?, ?)"),
        erase(db, "DELETE FROM kv WHERE kind = ? AND key = ?"),
        insert_config(db,
                      "INSERT INTO config_versions(version, time_ms, source, note)"
                      " VALUES (?, ?, ?, ?)"),
        // Retention: keep the newest `retained` rows by seq. OFFSET walks
        // the primary key, so this costs one index scan of `retained` rows.
        prune_events(db,
                     "DELETE FROM events WHERE seq < "
                     "(SELECT seq FROM events ORDER BY seq DESC LIMIT 1 OFFSET ? - 1)") {}

  SQLite::Statement insert_event;
  SQLite::Statement put;
  SQLite::Statement erase;
  SQLite::Statement insert_config;
  SQLite::Statement prune_events;
};

// Readies the writer's connection before its statements are prepared.
SQLite::Database& configured(SQLite::Database& db) {
  configure_writer(db);
  migrate(db);
  return db;
}

void run(SQLite::Statement& statement) {
  statement.exec();
  statement.reset();
}

void apply(WriteStatements& s, const Write& write) {
  std::visit(
      [&s](const auto& w) {
        using T = std::decay_t<decltype(w)>;
        if constexpr (std::is_same_v<T, EventRecord>) {
          auto& q = s.insert_event;
          q.bind(1, static_cast<std::int64_t>(w.seq));
          q.bind(2, static_cast<std::int64_t>(w.time_ms));
          q.bindNoCopy(3, w.type);
          q.bindNoCopy(4, w.service);
          q.bindNoCopy(5, w.instance);
          q.bindNoCopy(6, w.message);
          static const std::string empty_object = "{}";
          q.bindNoCopy(7, w.data_json.empty() ? empty_object : w.data_json);
          run(q);
        } else if constexpr (std::is_same_v<T, PutWrite>) {
          s.put.bindNoCopy(1, w.kind);
          s.put.bindNoCopy(2, w.key);
          s.put.bindNoCopy(3, w.value_json);
          run(s.put);
        } else if constexpr (std::is_same_v<T, EraseWrite>) {
          s.erase.bindNoCopy(1, w.kind);
          s.erase.bindNoCopy(2, w.key);
          run(s.erase);
        } else {
          auto& q = s.insert_config;
          q.bind(1, static_cast<std::int64_t>(w.version));
          q.bind(2, static_cast<std::int64_t>(w.time_ms));
          q.bindNoCopy(3, w.source);
          q.bindNoCopy(4, w.note);
          run(q);
        }
      },
      write);
}

// The Database behind Database::open. One writer thread owns `writer_db_`
// and drains a bounded queue, one transaction per drain; callers on the
// event loop only ever take `queue_mutex_` for a push. Reads go to a second,
// read-only connection: WAL lets them run beside the writer, and they see
// only what has been committed (call flush() first to read your writes).
class SqliteDatabase final : public Database {
 public:
  SqliteDatabase(const std::string& path, DatabaseOptions options)
      : options_(options),
        writer_db_(path, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE, busy_timeout_ms),
        statements_(configured(writer_db_)),
        reader_db_(path, SQLite::OPEN_READONLY, busy_timeout_ms),
        writer_([this] { write_loop(); }) {}

  ~SqliteDatabase() override {
    {
      std::lock_guard lock(queue_mutex_);
      stopping_ = true;
    }
    work_ready_.notify_one();
    writer_.join();  // the loop drains what is queued before it returns
  }

  void append_event(EventRecord event) override { enqueue(std::move(event)); }

  void put(const std::string& kind, const std::string& key, std::string value_json) override {
    enqueue(PutWrite{kind, key, std::move(value_json)});
  }

  void erase(const std::string& kind, const std::string& key) override {
    enqueue(EraseWrite{kind, key});
  }

  void append_config(ConfigVersion version) override { enqueue(std::move(version)); }

  void flush() override {
    std::unique_lock lock(queue_mutex_);
    const std::uint64_t target = queued_;
    written_.wait(lock, [&] { return done_ >= target; });
  }

  std::vector<EventRecord> events_since(std::int64_t since, int limit) override {
    std::vector<EventRecord> events;
    if (limit <= 0) return events;
    std::lock_guard lock(reader_mutex_);
    SQLite::Statement q(reader_db_,
                        "SELECT seq, time_ms, type, service, instance, message, data_json"
                        " FROM events WHERE seq > ? ORDER BY seq LIMIT ?");
    q.bind(1, static_cast<std::int64_t>(since));
    q.bind(2, limit);
    while (q.executeStep()) {
      events.push_back(EventRecord{q.getColumn(0).getInt64(), q.getColumn(1).getInt64(),
                                   q.getColumn(2).getString(), q.getColumn(3).getString(),
                                   q.getColumn(4).getString(), q.getColumn(5).getString(),
                                   q.getColumn(6).getString()});
    }
    return events;
  }

  std::int64_t last_event_seq() override {
    std::lock_guard lock(reader_mutex_);
    SQLite::Statement q(reader_db_, "SELECT COALESCE(MAX(seq), 0) FROM events");
    q.executeStep();
    return q.getColumn(0).getInt64();
  }

  std::vector<std::pair<std::string, std::string>> load(const std::string& kind) override {
    std::vector<std::pair<std::string, std::string>> entries;
    std::lock_guard lock(reader_mutex_);
    SQLite::Statement q(reader_db_, "SELECT key, value_json FROM kv WHERE kind = ? ORDER BY key");
    q.bind(1, kind);
    while (q.executeStep()) {
      entries.emplace_back(q.getColumn(0).getString(), q.getColumn(1).getString());
    }
    return entries;
  }

  std::vector<ConfigVersion> config_history(int limit) override {
    std::vector<ConfigVersion> versions;
    if (limit <= 0) return versions;
    std::lock_guard lock(reader_mutex_);
    SQLite::Statement q(reader_db_,
                        "SELECT version, time_ms, source, note FROM config_versions"
                        " ORDER BY version DESC LIMIT ?");
    q.bind(1, limit);
    while (q.executeStep()) {
      versions.push_back(ConfigVersion{q.getColumn(0).getInt64(), q.getColumn(1).getInt64(),
                                       q.getColumn(2).getString(), q.getColumn(3).getString()});
    }
    return versions;
  }

  std::uint64_t dropped_writes() const override { return dropped_.load(std::memory_order_relaxed); }

 private:
  void enqueue(Write write) {
    std::unique_lock lock(queue_mutex_);
    if (queue_.size() >= options_.queue_capacity) {
      // The caller is the event loop: losing a history row beats stalling
      // every client behind a slow disk.
      lock.unlock();
      dropped_.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    const bool was_empty = queue_.empty();
    queue_.push_back(std::move(write));
    ++queued_;
    lock.unlock();
    // The writer waits only on an empty queue, so only that push wakes it.
    if (was_empty) work_ready_.notify_one();
  }

  void write_loop() {
    std::deque<Write> batch;
    std::unique_lock lock(queue_mutex_);
    for (;;) {
      work_ready_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping, and everything is written
      batch.swap(queue_);
      const std::uint64_t batch_end = queued_;
      lock.unlock();
      commit(batch);
      batch.clear();
      lock.lock();
      done_ = batch_end;
      written_.notify_all();
    }
  }

  // Applies one drained batch in one transaction. A write SQLite refuses
  // (say, a duplicate seq) is counted and skipped without losing the rest;
  // a failed commit (disk full) loses the batch, counted and logged, and the
  // writer goes on with the next one.
  void commit(const std::deque<Write>& batch) {
    std::int64_t events = 0;
    try {
      writer_db_.exec("BEGIN IMMEDIATE");
      for (const Write& write : batch) {
        try {
          apply(statements_, write);
          if (std::holds_alternative<EventRecord>(write)) ++events;
        } catch (const SQLite::Exception& e) {
          spdlog::error("store: write refused: {}", e.what());
          dropped_.fetch_add(1, std::memory_order_relaxed);
          reset_statements();
        }
      }
      events_since_prune_ += events;
      if (events_since_prune_ >= prune_interval()) {
        statements_.prune_events.bind(1, options_.retained_events);
        run(statements_.prune_events);
        events_since_prune_ = 0;
      }
      writer_db_.exec("COMMIT");
    } catch (const SQLite::Exception& e) {
      spdlog::error("store: lost {} writes: {}", batch.size(), e.what());
      dropped_.fetch_add(batch.size(), std::memory_order_relaxed);
      reset_statements();
      writer_db_.tryExec("ROLLBACK");
    }
  }

  // Retention: the events table is pruned back to `retained_events` rows
  // once a tenth of that many events have arrived since the last prune, so it
  // holds at most 110% of retained_events and the prune cost is amortised.
  std::int64_t prune_interval() const {
    return std::max<std::int64_t>(1, options_.retained_events / 10);
  }

  void reset_statements() {
    for (SQLite::Statement* s : {&statements_.insert_event, &statements_.put, &statements_.erase,
                                 &statements_.insert_config, &statements_.prune_events}) {
      s->tryReset();
    }
  }

  const DatabaseOptions options_;

  SQLite::Database writer_db_;  // only the writer thread, after construction
  WriteStatements statements_;  // on writer_db_
  std::int64_t events_since_prune_ = 0;

  std::mutex reader_mutex_;  // reads are rare; one at a time is plenty
  SQLite::Database reader_db_;

  std::mutex queue_mutex_;
  std::condition_variable work_ready_;  // queue became non-empty, or stopping
  std::condition_variable written_;     // done_ advanced
  std::deque<Write> queue_;
  std::uint64_t queued_ = 0;  // writes ever accepted into the queue
  std::uint64_t done_ = 0;    // of those, how many the writer has finished
  bool stopping_ = false;
  std::atomic<std::uint64_t> dropped_{0};

  std::thread writer_;  // last: starts once everything above exists
};

}  // namespace

std::unique_ptr<Database> Database::open(const std::string& path, DatabaseOptions options) {
  if (options.queue_capacity == 0 || options.retained_events <= 0) {
    throw std::invalid_argument("store: queue_capacity and retained_events must be positive");
  }
  const std::filesystem::path parent = std::filesystem::path(path).parent_path();
  if (!parent.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(parent, ec);
    if (ec) {
      throw std::runtime_error("cannot create directory " + parent.string() + " for database " +
                               path + ": " + ec.message());
    }
  }
  try {
    return std::make_unique<SqliteDatabase>(path, options);
  } catch (const std::exception& e) {
    throw std::runtime_error("cannot open database " + path + ": " + e.what());
  }
}

}  // namespace meshd::store
