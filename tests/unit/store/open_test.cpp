// Opening: directories, file settings, schema versions and clear errors.

#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Statement.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <stdexcept>

#include "meshd/store/database.hpp"
#include "temp_dir.hpp"

namespace meshd::store {
namespace {

std::string pragma(const std::string& path, const std::string& name) {
  SQLite::Database db(path, SQLite::OPEN_READONLY);
  SQLite::Statement q(db, "PRAGMA " + name);
  q.executeStep();
  return q.getColumn(0).getString();
}

std::string open_error(const std::string& path) {
  try {
    Database::open(path);
  } catch (const std::runtime_error& e) {
    return e.what();
  }
  return "";
}

class OpenTest : public ::testing::Test {
 protected:
  test_support::TempDir dir_;
};

TEST_F(OpenTest, CreatesMissingParentDirectories) {
  const std::string path = dir_.file("var/meshd/state/meshd.db");
  auto db = Database::open(path);
  EXPECT_TRUE(std::filesystem::exists(path));
}

TEST_F(OpenTest, UsesWalAndRecordsTheSchemaVersion) {
  const std::string path = dir_.file("meshd.db");
  auto db = Database::open(path);
  EXPECT_EQ(pragma(path, "journal_mode"), "wal");
  EXPECT_EQ(pragma(path, "user_version"), "1");
}

TEST_F(OpenTest, HasAnIndexForPerServiceQueries) {
  const std::string path = dir_.file("meshd.db");
  Database::open(path);
  SQLite::Database raw(path, SQLite::OPEN_READONLY);
  SQLite::Statement q(raw,
                      "EXPLAIN QUERY PLAN SELECT seq FROM events WHERE service = 'a' ORDER BY seq");
  std::string plan;
  while (q.executeStep()) plan += q.getColumn(3).getString() + "\n";
  EXPECT_NE(plan.find("events_by_service"), std::string::npos) << plan;
}

TEST_F(OpenTest, ReopeningDoesNotRerunMigrations) {
  const std::string path = dir_.file("meshd.db");
  Database::open(path)->put("registration", "a", "{}");
  auto db = Database::open(path);
  EXPECT_EQ(db->load("registration").size(), 1u);
  EXPECT_EQ(pragma(path, "user_version"), "1");
}

TEST_F(OpenTest, UncreatableDirectoryNamesThePathAndTheReason) {
  // A regular file where a directory should be: fails even for root.
  const std::string blocker = dir_.file("not-a-dir");
  std::ofstream(blocker) << "x";
  const std::string path = blocker + "/sub/meshd.db";

  const std::string message = open_error(path);
  EXPECT_NE(message.find(path), std::string::npos) << message;
  EXPECT_NE(message.find("Not a directory"), std::string::npos) << message;
}

TEST_F(OpenTest, UnusableFileNamesThePathAndSqlitesReason) {
  const std::string path = dir_.file("garbage.db");
  std::ofstream(path) << std::string(8192, 'x');  // not an SQLite file

  const std::string message = open_error(path);
  EXPECT_NE(message.find(path), std::string::npos) << message;
  EXPECT_NE(message.find("not a database"), std::string::npos) << message;
}

TEST_F(OpenTest, DirectoryInPlaceOfTheFileIsAClearError) {
  const std::string path = dir_.file("meshd.db");
  std::filesystem::create_directories(path);
  const std::string message = open_error(path);
  EXPECT_NE(message.find("cannot open database " + path), std::string::npos) << message;
}

TEST_F(OpenTest, RefusesAFileFromANewerSchema) {
  const std::string path = dir_.file("meshd.db");
  {
    SQLite::Database raw(path, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
    raw.exec("PRAGMA user_version = 99");
  }
  const std::string message = open_error(path);
  EXPECT_NE(message.find(path), std::string::npos) << message;
  EXPECT_NE(message.find("newer meshd"), std::string::npos) << message;
}

}  // namespace
}  // namespace meshd::store
