#pragma once
// Private to the store module: not part of meshd's public headers (include/meshd/).

// Connection settings and schema migrations for meshd's SQLite file. Kept
// apart from the writer so that a new migration is a one-line change here.

#include <SQLiteCpp/Database.h>

namespace meshd::store {

/// The schema version this build writes (stored in PRAGMA user_version).
inline constexpr int current_schema_version = 1;

/// How long a connection waits for another one's lock before giving up.
inline constexpr int busy_timeout_ms = 5000;

/// Sets WAL journaling, synchronous=NORMAL and the busy timeout on the
/// writing connection. WAL makes readers and the writer not block each other;
/// NORMAL is durable across process crashes in WAL mode and only risks the
/// last commits on power loss, which is acceptable for history and overrides.
void configure_writer(SQLite::Database& db);

/// Brings the schema up to current_schema_version, one migration per step in
/// its own transaction. Throws std::runtime_error when the file was written
/// by a newer meshd, since guessing at its layout could corrupt it.
void migrate(SQLite::Database& db);

}  // namespace meshd::store
