#include "schema.hpp"

#include <SQLiteCpp/Statement.h>
#include <spdlog/spdlog.h>

#include <array>
#include <stdexcept>
#include <string>

namespace meshd::store {
namespace {

// migrations[i] takes the schema from version i to i + 1. Never edit a
// shipped entry: existing files have already run it; append a new one.
constexpr std::array<const char*, current_schema_version> migrations = {
    // 0 -> 1: the initial layout.
    R"sql(
      CREATE TABLE events (
        seq       INTEGER PRIMARY KEY,
        time_ms   INTEGER NOT NULL,
        type      TEXT NOT NULL,
        service   TEXT NOT NULL DEFAULT '',
        instance  TEXT NOT NULL DEFAULT '',
        message   TEXT NOT NULL DEFAULT '',
        data_json TEXT NOT NULL DEFAULT '{}'
      );
      -- The dashboard and API page through one service's history by seq.
      CREATE INDEX events_by_service ON events(service, seq);
      CREATE TABLE kv (
        kind       TEXT NOT NULL,
        key        TEXT NOT NULL,
        value_json TEXT NOT NULL,
        PRIMARY KEY (kind, key)
      ) WITHOUT ROWID;
      CREATE TABLE config_versions (
        version INTEGER PRIMARY KEY,
        time_ms INTEGER NOT NULL,
        source  TEXT NOT NULL,
        note    TEXT NOT NULL DEFAULT ''
      );
    )sql",
};

int user_version(SQLite::Database& db) {
  SQLite::Statement query(db, "PRAGMA user_version");
  query.executeStep();
  return query.getColumn(0).getInt();
}

}  // namespace

void configure_writer(SQLite::Database& db) {
  db.setBusyTimeout(busy_timeout_ms);
  SQLite::Statement journal(db, "PRAGMA journal_mode=WAL");
  journal.executeStep();
  const std::string mode = journal.getColumn(0).getString();
  if (mode != "wal") {
    // Some filesystems (network mounts) cannot do WAL; SQLite then keeps its
    // rollback journal. Slower, still correct, so say so and go on.
    spdlog::warn("store: {} cannot use WAL journaling, using {}", db.getFilename(), mode);
  }
  db.exec("PRAGMA synchronous=NORMAL");
}

void migrate(SQLite::Database& db) {
  const int found = user_version(db);
  if (found > current_schema_version) {
    throw std::runtime_error("schema version " + std::to_string(found) +
                             " was written by a newer meshd (this one knows up to " +
                             std::to_string(current_schema_version) + ")");
  }
  for (int version = found; version < current_schema_version; ++version) {
    // IMMEDIATE: two daemons opening one fresh file must not both migrate.
    db.exec("BEGIN IMMEDIATE");
    try {
      if (user_version(db) == version) {
        db.exec(migrations.at(static_cast<std::size_t>(version)));
        db.exec("PRAGMA user_version = " + std::to_string(version + 1));
      }
      db.exec("COMMIT");
    } catch (...) {
      db.tryExec("ROLLBACK");
      throw;
    }
  }
}

}  // namespace meshd::store
